using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace AccountFunctions.LocalHost;

/// <summary>The public HTTP side: admin API, function routes, keys, and the forwarding of each
/// request to the worker's own Kestrel (HttpUri) alongside the InvocationRequest.</summary>
internal sealed class HttpFrontEnd
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
    };

    private readonly LocalFunctionsHost _host;
    private readonly IInlineConstraintResolver _constraints;
    private readonly ILogger _logger;

    public HttpFrontEnd(LocalFunctionsHost host, IServiceProvider services)
    {
        _host = host;
        _constraints = RouteTable.CreateResolver(services);
        _logger = host.LoggerFactory.CreateLogger("Host.LocalHost.Http");
    }

    public async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path.Equals("/admin", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/admin/", StringComparison.OrdinalIgnoreCase))
        {
            await AdminAsync(context, path);
            return;
        }

        var worker = await _host.GetWorkerAsync(TimeSpan.FromSeconds(10), context.RequestAborted);
        if (worker is null)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        var match = worker.Routes.Find(context, _constraints);
        if (match is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound; // Azure answers an empty 404
            return;
        }
        var trigger = match.Function.Trigger!;
        if (match.Function.Disabled && !_host.CheckKey(PresentedKey(context.Request), adminOnly: true))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (trigger.AuthLevel != "anonymous" && !_host.CheckKey(PresentedKey(context.Request), adminOnly: trigger.AuthLevel is "admin" or "system"))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized; // Azure: UnauthorizedResult, empty body
            return;
        }
        await InvokeHttpAsync(context, worker, match);
    }

    private static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue("x-functions-key", out var h) && !StringValues.IsNullOrEmpty(h)) return h.ToString();
        if (request.Query.TryGetValue("code", out var q) && !StringValues.IsNullOrEmpty(q)) return q.ToString();
        return null;
    }

    private async Task InvokeHttpAsync(HttpContext context, ActiveWorker worker, RouteTable.Match match)
    {
        var function = match.Function;
        var request = context.Request;
        if (worker.Channel.HttpUri is not { } httpUri)
        {
            _logger.LogError("The worker did not announce the HttpUri capability: is ConfigureFunctionsWebApplication() used?");
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }
        var invocationId = Guid.NewGuid().ToString();
        var invocation = Invocations.Create(function, invocationId, "Functions." + function.Name);
        var http = new RpcHttp
        {
            Method = request.Method,
            Url = $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{request.QueryString}",
        };
        foreach (var (k, v) in request.Headers) http.Headers[k.ToLowerInvariant()] = v.ToString();
        var query = new Dictionary<string, string>();
        foreach (var (k, v) in request.Query) { http.Query[k] = v.ToString(); query[k] = v.ToString(); }
        foreach (var (k, v) in match.Values)
        {
            if (v is null) continue;
            http.Params[k] = v.ToString() ?? "";
            invocation.TriggerMetadata[k] = Invocations.Text(v.ToString() ?? "");
        }
        invocation.InputData.Add(new ParameterBinding { Name = function.Trigger!.Name, Data = new TypedData { Http = http } });
        invocation.TriggerMetadata["Query"] = Invocations.Json(query);
        invocation.TriggerMetadata["Headers"] = Invocations.Json(request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString()));

        using var forwardCts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _host.Stopping);
        var forward = ForwardAsync(context, httpUri, invocationId, forwardCts.Token);
        InvocationResponse? response = null;
        try
        {
            response = await _host.InvokeAsync(worker, invocation, function.Name, context.RequestAborted);
        }
        catch (Exception ex) when (ex is WorkerUnavailableException or TimeoutException or OperationCanceledException)
        {
            _logger.LogError("Invocation {Id} of '{Function}' failed: {Error}", invocationId, function.Name, ex.Message);
            forwardCts.Cancel();
        }

        Forwarded? forwarded = null;
        try
        {
            forwarded = await forward;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            if (response is not null) _logger.LogError("Forwarding invocation {Id} to the worker failed: {Error}", invocationId, ex.Message);
        }

        if (context.RequestAborted.IsCancellationRequested) return;
        if (response is null || !Invocations.Succeeded(response) || forwarded is null)
        {
            if (response is not null && !Invocations.Succeeded(response))
                _logger.LogError("Executed 'Functions.{Function}' (Failed, Id={Id}): {Error}", function.Name, invocationId, Invocations.Describe(response));
            context.Response.StatusCode = StatusCodes.Status500InternalServerError; // empty, as Azure
            return;
        }
        _logger.LogInformation("Executed 'Functions.{Function}' (Succeeded, Id={Id}) {Status}", function.Name, invocationId, (int)forwarded.Status);
        context.Response.StatusCode = (int)forwarded.Status;
        foreach (var (k, v) in forwarded.Headers)
            if (!HopByHop.Contains(k)) context.Response.Headers[k] = v;
        if (forwarded.Body.Length > 0)
        {
            context.Response.ContentLength = forwarded.Body.Length;
            await context.Response.Body.WriteAsync(forwarded.Body, context.RequestAborted);
        }
    }

    private sealed record Forwarded(HttpStatusCode Status, List<KeyValuePair<string, StringValues>> Headers, byte[] Body);

    /// <summary>Forwards the raw request to the worker (path and query unchanged), with
    /// <c>x-ms-invocation-id</c>, and reads the whole answer.</summary>
    private async Task<Forwarded> ForwardAsync(HttpContext context, Uri httpUri, string invocationId, CancellationToken ct)
    {
        // As Azure's RetryProxyHandler: retry when the worker's Kestrel refuses the connection
        // (it may still be starting), 50 ms doubling to 250 ms; nothing was sent then.
        var delay = 50;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await ForwardOnceAsync(context, httpUri, invocationId, ct);
            }
            catch (HttpRequestException ex) when (attempt < 20 && ex.InnerException is System.Net.Sockets.SocketException)
            {
                _logger.LogWarning("Failed to proxy request to the worker ({Error}). Retrying in {Delay} ms. Attempt {Attempt}.", ex.Message, delay, attempt);
                await Task.Delay(delay, ct);
                delay = Math.Min(delay * 2, 250);
            }
        }
    }

    private async Task<Forwarded> ForwardOnceAsync(HttpContext context, Uri httpUri, string invocationId, CancellationToken ct)
    {
        var request = context.Request;
        var target = new Uri(httpUri, request.Path.ToUriComponent() + request.QueryString.ToUriComponent());
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), target) { Version = HttpVersion.Version11 };
        bool hasBody = request.ContentLength > 0 || request.Headers.ContainsKey("Transfer-Encoding");
        if (hasBody) message.Content = new StreamContent(request.Body, 64 * 1024);
        foreach (var (k, v) in request.Headers)
        {
            if (HopByHop.Contains(k)) continue;
            if (!message.Headers.TryAddWithoutValidation(k, (IEnumerable<string>)v!) && message.Content is not null)
                message.Content.Headers.TryAddWithoutValidation(k, (IEnumerable<string>)v!);
        }
        message.Headers.Remove("x-ms-invocation-id");
        message.Headers.TryAddWithoutValidation("x-ms-invocation-id", invocationId);
        // Front-end behaviour: keep a caller's X-Forwarded-For as it is; else name the TCP peer.
        if (!request.Headers.ContainsKey("X-Forwarded-For") && context.Connection.RemoteIpAddress is { } peer)
            message.Headers.TryAddWithoutValidation("X-Forwarded-For", peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4().ToString() : peer.ToString());
        if (!request.Headers.ContainsKey("X-Forwarded-Proto"))
            message.Headers.TryAddWithoutValidation("X-Forwarded-Proto", request.Scheme);

        using var response = await _host.Forwarder.SendAsync(message, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        var headers = new List<KeyValuePair<string, StringValues>>();
        foreach (var h in response.Headers) headers.Add(new(h.Key, new StringValues(h.Value.ToArray())));
        foreach (var h in response.Content.Headers)
            if (!h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) headers.Add(new(h.Key, new StringValues(h.Value.ToArray())));
        return new Forwarded(response.StatusCode, headers, body);
    }

    // ---- admin API ----

    private async Task AdminAsync(HttpContext context, string path)
    {
        if (!_host.CheckKey(PresentedKey(context.Request), adminOnly: true))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        var segments = path.Trim('/').Split('/');
        if (segments.Length == 3 && segments[1].Equals("host", StringComparison.OrdinalIgnoreCase) && segments[2].Equals("status", StringComparison.OrdinalIgnoreCase)
            && HttpMethods.IsGet(context.Request.Method))
        {
            var current = _host.Current;
            var status = new JsonObject
            {
                ["id"] = HostId(),
                ["state"] = current is null ? "Initialized" : "Running",
                ["version"] = LocalFunctionsHost.HostVersion,
                ["versionDetails"] = "AccountFunctions.LocalHost " + LocalFunctionsHost.HostVersion,
                ["processUptime"] = (long)(DateTime.UtcNow - System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime()).TotalMilliseconds,
                ["functionAppContentEditingState"] = "NotAllowed",
            };
            if (current is null) status["errors"] = new JsonArray("No worker is connected.");
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(status.ToJsonString(), context.RequestAborted);
            return;
        }
        if (segments.Length == 3 && segments[1].Equals("functions", StringComparison.OrdinalIgnoreCase) && HttpMethods.IsPost(context.Request.Method))
        {
            await AdminInvokeAsync(context, Uri.UnescapeDataString(segments[2]));
            return;
        }
        context.Response.StatusCode = StatusCodes.Status404NotFound;
    }

    private string HostId()
    {
        var name = Path.GetFileName(_host.Files.AppDirectory.TrimEnd(Path.DirectorySeparatorChar)).ToLowerInvariant();
        var id = new string(name.Where(char.IsLetterOrDigit).ToArray());
        return (id.Length == 0 ? "localhost" : id.Length > 32 ? id[..32] : id);
    }

    private async Task AdminInvokeAsync(HttpContext context, string name)
    {
        string? input;
        try
        {
            var doc = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (doc is not JsonObject o) { context.Response.StatusCode = StatusCodes.Status400BadRequest; return; }
            var node = o.FirstOrDefault(p => p.Key.Equals("input", StringComparison.OrdinalIgnoreCase)).Value;
            input = node is null ? null : node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
        }
        catch (JsonException)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var worker = await _host.GetWorkerAsync(TimeSpan.FromSeconds(10), context.RequestAborted);
        var function = worker is null ? null : LocalFunctionsHost.Find(worker, name);
        if (worker is null || function is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var type = function.Trigger!.Type;
        Func<Task>? run = null;
        if (type.Equals("queueTrigger", StringComparison.OrdinalIgnoreCase))
            run = () => QueueListener.InvokeDirectAsync(_host, function.Name, input ?? "", _logger);
        else if (type.Equals("timerTrigger", StringComparison.OrdinalIgnoreCase))
            run = () => TimerListener.InvokeOnceAsync(_host, function.Name, null, DateTime.UtcNow, _logger);
        if (run is null)
        {
            // Azure would call the function with the input as its trigger value; HTTP functions are
            // called through their route here.
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        _ = Task.Run(async () =>
        {
            try { await run(); }
            catch (Exception ex) when (ex is not OutOfMemoryException) { _logger.LogError(ex, "Admin invocation of '{Function}' failed", function.Name); }
        });
        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }
}
