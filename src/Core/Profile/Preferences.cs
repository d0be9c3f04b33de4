using System.Text;
using System.Text.Json;
using AccountFunctions.Core.Text;

namespace AccountFunctions.Core.Profile;

/// <summary>
/// A client's own JSON object, stored as sent and carried inside every Account answer: GET and
/// PATCH /api/me, every session, the admin's item and list. Those envelopes add up to 4 levels
/// (the list: object, items, account, profile) and the responses are written with at most 32, so
/// a limit well inside that is what lets every answer carry it. Checked when written; what is
/// stored already (before these limits, or written around them) is left out when it does not fit.
/// </summary>
public static class Preferences
{
    /// <summary>Levels of objects and arrays, the preferences object itself counted: <c>{"a":{"b":1}}</c> is 2.</summary>
    public const int MaxDepth = 8;
    public const int MaxBytes = 4096;

    /// <summary>What is wrong with a preferences object as JSON text, or null when it fits.</summary>
    public static string? Check(string json)
    {
        if (Encoding.UTF8.GetByteCount(json) > MaxBytes) return $"At most {MaxBytes} bytes.";
        if (Depth(json) > MaxDepth) return $"At most {MaxDepth} levels of nested objects and arrays.";
        return null;
    }

    /// <summary>
    /// The stored value as an answer carries it: scrubbed of lone surrogates; null when there is
    /// none or when it is not an object within the limits (<paramref name="unreadable"/> then says so).
    /// </summary>
    public static JsonElement? Render(string? stored, out bool unreadable)
    {
        unreadable = false;
        if (stored is not { Length: > 0 }) return null;
        unreadable = true;
        if (UnicodeText.ScrubJson(stored) is not { } clean || Check(clean) is not null) return null;
        try
        {
            using var doc = JsonDocument.Parse(clean, new JsonDocumentOptions { MaxDepth = MaxDepth });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            unreadable = false;
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The deepest nesting of objects and arrays; int.MaxValue for text that is not JSON or nests past what a reader takes.</summary>
    private static int Depth(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json), new JsonReaderOptions { MaxDepth = 256 });
        var deepest = 0;
        try
        {
            while (reader.Read())
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    deepest = Math.Max(deepest, reader.CurrentDepth + 1);
        }
        catch (JsonException)
        {
            return int.MaxValue;
        }
        return deepest;
    }
}
