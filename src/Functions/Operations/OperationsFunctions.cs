using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Hosting;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Operations;

/// <summary>Health and the OpenAPI document.</summary>
public sealed class OperationsFunctions(StorageContext storage, ILogger<OperationsFunctions> log)
{
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    // The hand-written OpenAPI 3.1 document (src/Functions/openapi.json), read once.
    private static readonly Lazy<byte[]> Document = new(() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "openapi.json")));

    /// <summary>
    /// One cheap read against tables and one against queues, each with a short timeout. 200 when
    /// both answer, else 503 naming the failing check. The body never holds exception text or
    /// connection details; the failure is logged (type and status only).
    /// </summary>
    [Function("Health")]
    public async Task<JsonHttpResult<HealthAnswer>> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health")] HttpRequest req)
    {
        var aborted = req.HttpContext.RequestAborted;
        var tables = CheckAsync("tables", async ct =>
        {
            // Reachable and authorised is what counts; a table not created yet is still an answer.
            try { await storage.Keys.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>("health", "probe", cancellationToken: ct); }
            catch (RequestFailedException e) when (e.Status == 404) { }
        }, aborted);
        var queues = CheckAsync("queues", async ct => await storage.Outbox.ExistsAsync(ct), aborted);
        var checks = new Dictionary<string, string> { ["tables"] = await tables, ["queues"] = await queues };
        var ok = checks.Values.All(v => v == "ok");
        req.HttpContext.Response.Headers.CacheControl = "no-store";
        return TypedResults.Json(new HealthAnswer(ok ? "ok" : "unavailable", checks),
            (System.Text.Json.JsonSerializerOptions?)null, statusCode: ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    [Function("OpenApi"), Cacheable("public, max-age=300")]
    public FileContentHttpResult OpenApi([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/openapi.json")] HttpRequest req) =>
        TypedResults.Bytes(Document.Value, "application/json");

    public sealed record HealthAnswer(string Status, Dictionary<string, string> Checks);

    private async Task<string> CheckAsync(string name, Func<CancellationToken, Task> probe, CancellationToken aborted)
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
