using AccountFunctions.Core.Storage;
using Azure;

namespace AccountFunctions.Functions.Endpoints;

/// <summary>
/// <c>GET /api/health</c>: one cheap read against tables and one against queues, each with a short
/// timeout. 200 when both answer, else 503 naming the failing check. The body never holds exception
/// text or connection details; the failure is logged (type and status only).
/// </summary>
public static class OperationsEndpoints
{
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public static void MapOperations(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/health", async (HttpContext http, StorageContext storage, ILoggerFactory loggers) =>
        {
            var log = loggers.CreateLogger("AccountFunctions.Health");
            var tables = CheckAsync("tables", log, async ct =>
            {
                // Reachable and authorised is what counts; a table not created yet is still an answer.
                try { await storage.Keys.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>("health", "probe", cancellationToken: ct); }
                catch (RequestFailedException e) when (e.Status == 404) { }
            }, http.RequestAborted);
            var queues = CheckAsync("queues", log, async ct => await storage.Outbox.ExistsAsync(ct), http.RequestAborted);
            var checks = new Dictionary<string, string> { ["tables"] = await tables, ["queues"] = await queues };
            var ok = checks.Values.All(v => v == "ok");
            http.Response.Headers.CacheControl = "no-store";
            return Results.Json(new { status = ok ? "ok" : "unavailable", checks },
                statusCode: ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });

        // The hand-written OpenAPI 3.1 document (src/Functions/openapi.json), read once.
        var document = new Lazy<byte[]>(() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "openapi.json")));
        app.MapGet("/api/openapi.json", () => Results.Bytes(document.Value, "application/json"));
    }

    private static async Task<string> CheckAsync(string name, ILogger log, Func<CancellationToken, Task> probe, CancellationToken aborted)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        cts.CancelAfter(CheckTimeout);
        try
        {
            await probe(cts.Token);
            return "ok";
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or OperationCanceledException or TimeoutException or AggregateException)
        {
            log.LogWarning("Health check {Check} failed: {ExceptionType} {Status}", name, e.GetType().Name, (e as RequestFailedException)?.Status);
            return "failed";
        }
    }
}
