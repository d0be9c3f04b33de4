using System.Text.Json;
using AccountFunctions.Core;

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
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, Options, context.RequestAborted);
            return value is null ? Errors.Validation("$", "A JSON object is required.") : value;
        }
        catch (JsonException e) when (e.Path is { Length: > 2 } path && IsTypeError(e))
        {
            return Errors.Validation(path.TrimStart('$', '.'), "This field has the wrong type.");
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

    private static bool IsTypeError(JsonException e) =>
        e.InnerException is InvalidOperationException || e.Message.Contains("could not be converted", StringComparison.Ordinal);
}
