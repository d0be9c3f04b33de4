using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.SampleWorker;

public sealed class HttpFunctions
{
    [Function("Anonymous")]
    public IActionResult Anonymous([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "hello")] HttpRequest req) =>
        new ContentResult { Content = "hello", ContentType = "text/plain", StatusCode = 200 };

    [Function("Keyed")]
    public IActionResult Keyed([HttpTrigger(AuthorizationLevel.Function, "get", Route = "keyed")] HttpRequest req) =>
        new ContentResult { Content = "keyed", ContentType = "text/plain", StatusCode = 200 };

    [Function("AdminOnly")]
    public IActionResult AdminOnly([HttpTrigger(AuthorizationLevel.Admin, "get", Route = "manage/adminonly")] HttpRequest req) =>
        new ContentResult { Content = "admin", ContentType = "text/plain", StatusCode = 200 };

    // A route in the host's reserved space: the host must refuse to load it (as Azure does).
    [Function("Reserved")]
    public IActionResult Reserved([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/mine")] HttpRequest req) =>
        new ContentResult { Content = "reserved", ContentType = "text/plain", StatusCode = 200 };

    // No route: the function name is the route; no methods: every method.
    [Function("NoRoute")]
    public IActionResult NoRoute([HttpTrigger(AuthorizationLevel.Anonymous)] HttpRequest req) =>
        new ContentResult { Content = "noroute " + req.Method, ContentType = "text/plain", StatusCode = 200 };

    [Function("Item")]
    public IActionResult Item([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{id:int}")] HttpRequest req, int id) =>
        new ContentResult { Content = "item " + id, ContentType = "text/plain", StatusCode = 200 };

    [Function("ItemByName")]
    public IActionResult ItemByName([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{name}")] HttpRequest req, string name) =>
        new ContentResult { Content = "name " + name, ContentType = "text/plain", StatusCode = 200 };

    [Function("ItemsNew")]
    public IActionResult ItemsNew([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/new")] HttpRequest req) =>
        new ContentResult { Content = "literal new", ContentType = "text/plain", StatusCode = 200 };

    [Function("Optional")]
    public IActionResult Optional([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "opt/{x?}")] HttpRequest req) =>
        new ContentResult { Content = "opt " + (req.RouteValues.TryGetValue("x", out var x) ? x : "(none)"), ContentType = "text/plain", StatusCode = 200 };

    [Function("CatchAll")]
    public IActionResult CatchAll([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/{*rest}")] HttpRequest req) =>
        new ContentResult { Content = "rest " + (req.RouteValues.TryGetValue("rest", out var r) ? r : "(none)"), ContentType = "text/plain", StatusCode = 200 };

    [Function("PostOnly")]
    public IActionResult PostOnly([HttpTrigger(AuthorizationLevel.Anonymous, "post", "put", Route = "postonly")] HttpRequest req) =>
        new ContentResult { Content = "posted " + req.Method, ContentType = "text/plain", StatusCode = 200 };

    [Function("Throws")]
    public IActionResult Throws([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "throws")] HttpRequest req) =>
        throw new InvalidOperationException("thrown on purpose");

    [Function("Status")]
    public IActionResult Status([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "status/{code:int}")] HttpRequest req, int code)
    {
        req.HttpContext.Response.Headers["X-Sample"] = "yes";
        return new ContentResult { Content = "status " + code, ContentType = "text/plain", StatusCode = code };
    }

    // Echoes what the function saw, as JSON: method, path, query, headers, route values, body
    // (length and SHA-256), remote address, and the forwarded headers.
    [Function("Echo")]
    public async Task<IActionResult> Echo(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", Route = "echo/{a}/{b?}")] HttpRequest req,
        FunctionContext context)
    {
        using var ms = new MemoryStream();
        await req.Body.CopyToAsync(ms);
        var body = ms.ToArray();
        var result = new Dictionary<string, object?>
        {
            ["method"] = req.Method,
            ["path"] = req.Path.Value,
            ["query"] = req.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
            ["headers"] = req.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            ["route"] = req.RouteValues.ToDictionary(r => r.Key, r => r.Value?.ToString()),
            ["bindingData"] = context.BindingContext.BindingData.ToDictionary(b => b.Key, b => b.Value?.ToString()),
            ["bodyLength"] = body.Length,
            ["bodySha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(body)),
            ["bodyText"] = body.Length <= 4096 ? System.Text.Encoding.UTF8.GetString(body) : null,
            ["remoteIp"] = req.HttpContext.Connection.RemoteIpAddress?.ToString(),
            ["invocationId"] = context.InvocationId,
            ["pid"] = Environment.ProcessId,
            ["setting"] = Environment.GetEnvironmentVariable("Sample_Setting"),
        };
        return new ContentResult { Content = JsonSerializer.Serialize(result), ContentType = "application/json", StatusCode = 200 };
    }

    // Answers a large body (size in bytes from the query) to check streaming back.
    [Function("Big")]
    public IActionResult Big([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "big")] HttpRequest req)
    {
        int size = int.Parse(req.Query["size"].ToString());
        var data = new byte[size];
        for (int i = 0; i < size; i++) data[i] = (byte)('a' + i % 26);
        return new FileContentResult(data, "application/octet-stream");
    }
}
