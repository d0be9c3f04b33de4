using System.Text;
using System.Text.Json;

namespace AccountFunctions.Core.Text;

/// <summary>
/// Valid Unicode at the edges. JSON may escape a lone surrogate (<c>"\ud800"</c>): the text is
/// valid JSON but no string, and System.Text.Json throws when it has to turn it into UTF-8 (reading
/// it, or writing a stored copy out). Request bodies are refused for it (<see cref="FindInvalidString"/>);
/// what is already stored is scrubbed (U+FFFD) on its way out, so one bad value cannot fail a response.
/// </summary>
public static class UnicodeText
{
    public static bool IsValid(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return false;
        }
        return true;
    }

    /// <summary>The text with every lone surrogate replaced by U+FFFD.</summary>
    public static string? Scrub(string? s)
    {
        if (s is null || IsValid(s)) return s;
        var b = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { b.Append(s[i]).Append(s[i + 1]); i++; }
            else b.Append(char.IsSurrogate(s[i]) ? '\uFFFD' : s[i]);
        }
        return b.ToString();
    }

    /// <summary>
    /// The path of the first string (property name or value, at any depth) that is not valid
    /// Unicode, or null when all are. The JSON must already be well-formed.
    /// </summary>
    public static string? FindInvalidString(ReadOnlySpan<byte> json, JsonReaderOptions options)
    {
        var reader = new Utf8JsonReader(json, options);
        var path = new List<string>();
        var index = new List<int>(); // per open container: -1 for objects, else the next array index
        string? pending = null;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    if (!TryRead(ref reader, out var name)) return Join(path, "(name)");
                    pending = name;
                    continue;
                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    path.Add(Segment(index, pending));
                    index.Add(reader.TokenType == JsonTokenType.StartArray ? 0 : -1);
                    pending = null;
                    continue;
                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    path.RemoveAt(path.Count - 1);
                    index.RemoveAt(index.Count - 1);
                    Advance(index);
                    continue;
                case JsonTokenType.String:
                    if (!TryRead(ref reader, out _)) return Join(path, Segment(index, pending));
                    break;
            }
            Advance(index);
            pending = null;
        }
        return null;
    }

    private static bool TryRead(ref Utf8JsonReader reader, out string? value)
    {
        try { value = reader.GetString(); return true; }
        catch (InvalidOperationException) { value = null; return false; }
    }

    private static string Segment(List<int> index, string? property) =>
        property ?? (index.Count > 0 && index[^1] >= 0 ? $"[{index[^1]}]" : "");

    private static void Advance(List<int> index)
    {
        if (index.Count > 0 && index[^1] >= 0) index[^1]++;
    }

    private static string Join(List<string> path, string last)
    {
        var b = new StringBuilder();
        foreach (var segment in path.Skip(1).Append(last))
        {
            if (segment.Length == 0) continue;
            if (b.Length > 0 && !segment.StartsWith('[')) b.Append('.');
            b.Append(segment);
        }
        return b.Length == 0 ? "$" : b.ToString();
    }

    /// <summary>
    /// A stored JSON document re-written with every string scrubbed (see <see cref="Scrub"/>);
    /// null when it does not parse at all. Documents that are already clean come back unchanged.
    /// </summary>
    public static string? ScrubJson(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        try
        {
            if (FindInvalidString(bytes, default) is null) return json;
            var reader = new Utf8JsonReader(bytes);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                while (reader.Read())
                {
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.StartObject: writer.WriteStartObject(); break;
                        case JsonTokenType.EndObject: writer.WriteEndObject(); break;
                        case JsonTokenType.StartArray: writer.WriteStartArray(); break;
                        case JsonTokenType.EndArray: writer.WriteEndArray(); break;
                        case JsonTokenType.PropertyName: writer.WritePropertyName(ReadScrubbed(ref reader)); break;
                        case JsonTokenType.String: writer.WriteStringValue(ReadScrubbed(ref reader)); break;
                        case JsonTokenType.Number: writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true); break;
                        case JsonTokenType.True: writer.WriteBooleanValue(true); break;
                        case JsonTokenType.False: writer.WriteBooleanValue(false); break;
                        case JsonTokenType.Null: writer.WriteNullValue(); break;
                    }
                }
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A string token's value, unescaped by hand when it holds an escaped lone surrogate.</summary>
    private static string ReadScrubbed(ref Utf8JsonReader reader)
    {
        if (TryRead(ref reader, out var value)) return value!;
        var raw = Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray());
        var b = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '\\' || i + 1 >= raw.Length) { b.Append(raw[i]); continue; }
            var c = raw[++i];
            switch (c)
            {
                case 'b': b.Append('\b'); break;
                case 'f': b.Append('\f'); break;
                case 'n': b.Append('\n'); break;
                case 'r': b.Append('\r'); break;
                case 't': b.Append('\t'); break;
                case 'u' when i + 4 < raw.Length && int.TryParse(raw.AsSpan(i + 1, 4), System.Globalization.NumberStyles.HexNumber, null, out var code):
                    b.Append((char)code);
                    i += 4;
                    break;
                default: b.Append(c); break; // \" \\ \/
            }
        }
        return Scrub(b.ToString())!;
    }
}
