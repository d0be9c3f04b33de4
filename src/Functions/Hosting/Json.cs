using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Core.Text;

namespace AccountFunctions.Functions.Hosting;

/// <summary>Reads request bodies strictly: JSON only, 64 KiB at most, right types, no duplicate names.</summary>
public static class Json
{
    public const long MaxBodyBytes = 64 * 1024;

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        AllowDuplicateProperties = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
        MaxDepth = 32,
    };

    public static async Task<Result<T>> ReadAsync<T>(HttpContext context) where T : class
    {
        var request = context.Request;
        if (request.ContentLength is > MaxBodyBytes) return Errors.PayloadTooLarge;
        if (request.ContentType is not { } contentType
            || !contentType.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase))
            return Errors.UnsupportedMediaType;
        try
        {
            var bytes = await ReadBodyAsync(request, context.RequestAborted);
            if (bytes is null) return Errors.PayloadTooLarge;
            var value = JsonSerializer.Deserialize<T>(bytes, Options);
            if (value is null) return Errors.Validation("$", "A JSON object is required.");
            // Every string at any depth (names too) must be text: an escaped lone surrogate is valid
            // JSON, but stored it would fail every response that carries it. Checked once here, so
            // no flow writes one whatever the shape it takes a field as (JsonElement, string, ...).
            if (UnicodeText.FindInvalidString(bytes, new JsonReaderOptions { MaxDepth = Options.MaxDepth }) is { } bad)
                return Errors.Validation(bad, "Must be valid Unicode text.");
            return value;
        }
        catch (JsonException e) when (e.Path is { Length: > 2 } path && IsTypeError(e))
        {
            return Errors.Validation(path.TrimStart('$', '.'), "This field has the wrong type.");
        }
        catch (JsonException e) when (e.Path is { Length: > 2 } path && IsTooDeep(e))
        {
            // Named by the top-level field, as the flows' own nesting limits are (preferences).
            var field = path.TrimStart('$', '.').Split('.', '[')[0];
            return Errors.Validation(field.Length > 0 ? field : "$", "Nested too deeply.");
        }
        catch (JsonException)
        {
            return Errors.MalformedJson;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Errors.PayloadTooLarge;
        }
    }

    /// <summary>The whole body, or null when it is over <see cref="MaxBodyBytes"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        var tooLarge = false;
        int read;
        // Read to the end even when over the limit: Kestrel's own limit (the same 64 KiB) then
        // refuses the body as it would have, rather than the connection being cut mid-body.
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (tooLarge || buffer.Length + read > MaxBodyBytes) { tooLarge = true; continue; }
            buffer.Write(chunk, 0, read);
        }
        return tooLarge ? null : buffer.ToArray();
    }

    private static bool IsTooDeep(JsonException e) =>
        e.Message.Contains("maximum configured depth", StringComparison.Ordinal);

    private static bool IsTypeError(JsonException e) =>
        e.InnerException is InvalidOperationException || e.Message.Contains("could not be converted", StringComparison.Ordinal);
}
