using System.Text.Json;
using System.Text.Json.Nodes;

namespace AccountFunctions.Functions.Triggers;

/// <summary>
/// The Functions host's custom-handler invocation: <c>POST /{Function}</c> with
/// <c>{"Data": {"binding": value}, "Metadata": {...}}</c>, answered with
/// <c>{"Outputs": {}, "Logs": [...], "ReturnValue": ...}</c>. The host may JSON-encode a value
/// a second time (a queue message arrives as a JSON string holding JSON; numbers in Metadata
/// can arrive as strings), so every read here accepts both forms.
/// </summary>
public sealed class HostInvocation
{
    private readonly JsonElement _root;

    private HostInvocation(JsonElement root) => _root = root;

    public static bool TryParse(string body, out HostInvocation invocation, out string? error)
    {
        invocation = null!;
        error = null;
        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
            var root = Unwrap(doc.RootElement.Clone());
            if (root.ValueKind != JsonValueKind.Object) { error = "The invocation payload must be a JSON object."; return false; }
            invocation = new HostInvocation(root);
            return true;
        }
        catch (JsonException e)
        {
            error = "The invocation payload is not valid JSON: " + e.Message;
            return false;
        }
    }

    /// <summary>A binding's value from Data, unwrapped from any extra JSON string encoding.</summary>
    public JsonElement? Binding(string name) =>
        TryGet(_root, "Data", out var data) && TryGet(Unwrap(data), name, out var value) ? Unwrap(value) : null;

    /// <summary>A Metadata value as a string, whether it came as a string or a number.</summary>
    public string? Metadata(string name)
    {
        if (!TryGet(_root, "Metadata", out var meta) || !TryGet(Unwrap(meta), name, out var value)) return null;
        value = Unwrap(value);
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => null,
        };
    }

    public int DequeueCount => int.TryParse(Metadata("DequeueCount"), out var n) ? n : 1;

    /// <summary>A string holding JSON (an object, array or JSON string) is decoded, up to three times.</summary>
    public static JsonElement Unwrap(JsonElement element)
    {
        for (var i = 0; i < 3 && element.ValueKind == JsonValueKind.String; i++)
        {
            var text = element.GetString()!.Trim();
            if (text.Length == 0 || (text[0] != '{' && text[0] != '[' && text[0] != '"')) break;
            try
            {
                using var inner = JsonDocument.Parse(text);
                element = inner.RootElement.Clone();
            }
            catch (JsonException)
            {
                break;
            }
        }
        return element;
    }

    private static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        value = default;
        if (obj.ValueKind != JsonValueKind.Object) return false;
        foreach (var p in obj.EnumerateObject())
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) { value = p.Value; return true; }
        return false;
    }

    public static JsonObject Response(IEnumerable<string> logs, JsonNode? returnValue) => new()
    {
        ["Outputs"] = new JsonObject(),
        ["Logs"] = new JsonArray(logs.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()),
        ["ReturnValue"] = returnValue,
    };
}
