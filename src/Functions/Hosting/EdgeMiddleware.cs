using System.Diagnostics;
using System.Text.RegularExpressions;
using AccountFunctions.Core;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// The request edge, as worker middleware around every function: a log scope with the invocation
/// id (and for HTTP a correlation id, echoed, and one closing line: method, path without the query
/// string, which can hold a link's token, status, duration); <c>Cache-Control: no-store</c> on every
/// answer but those of <see cref="CacheableAttribute"/> functions; the policies the function's method
/// declares (<see cref="FunctionPolicy"/>); and problem+json for every exception of an HTTP
/// function: storage failures 503, anything else a bug (500, logged, no details out). A non-HTTP
/// function's exception is rethrown so the host retries (and finally poisons a queue message).
/// </summary>
public sealed partial class EdgeMiddleware(ILoggerFactory loggers, FunctionPolicies policies) : IFunctionsWorkerMiddleware
{
    public const string CorrelationHeader = "X-Correlation-Id";
    private readonly ILogger _requests = loggers.CreateLogger("AccountFunctions.Requests");
    private readonly ILogger _errors = loggers.CreateLogger("AccountFunctions.Errors");

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var http = context.GetHttpContext();
        var scope = new Dictionary<string, object?> { ["InvocationId"] = context.InvocationId, ["Function"] = context.FunctionDefinition.Name };
        if (http is null)
        {
            if (context.BindingContext.BindingData.TryGetValue("Id", out var id) && id is string { Length: <= 64 } messageId)
                scope["QueueMessageId"] = messageId;
            using (_requests.BeginScope(scope)) await next(context);
            return;
        }

        var correlation = CorrelationId(http.Request.Headers[CorrelationHeader].FirstOrDefault());
        http.Response.Headers[CorrelationHeader] = correlation;
        // Before anything can answer, so that every answer has it, a refusal or an error too.
        http.Response.Headers.CacheControl = FunctionPolicy.NoStore;
        http.Response.Headers.Pragma = "no-cache"; // for HTTP/1.0 caches
        scope["CorrelationId"] = correlation;
        var started = Stopwatch.GetTimestamp();
        http.Response.OnCompleted(() =>
        {
            using (_requests.BeginScope(scope))
                _requests.LogInformation("HTTP {Method} {Path} answered {Status} in {ElapsedMs:0.0} ms", http.Request.Method,
                    http.Request.Path.Value, http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return Task.CompletedTask;
        });
        using (_requests.BeginScope(scope))
        {
            try
            {
                var policy = policies.For(context.FunctionDefinition.Name);
                if (policy.CacheControl is { } cacheable)
                {
                    http.Response.Headers.CacheControl = cacheable;
                    http.Response.Headers.Remove("Pragma");
                }
                var refused = await ApplyPoliciesAsync(context, http, policy, next);
                if (refused is not null) context.GetInvocationResult().Value = refused;
            }
            catch (Exception e)
            {
                var error = Classify(e, http);
                if (!http.Response.HasStarted)
                {
                    // A failure is no public document, whatever the function's answers are.
                    http.Response.Headers.CacheControl = FunctionPolicy.NoStore;
                    http.Response.Headers.Pragma = "no-cache";
                }
                if (error.Status >= 500) _errors.LogError(e, "Request {Method} {Path} failed", http.Request.Method, http.Request.Path.Value);
                context.GetInvocationResult().Value = error.ToProblem();
            }
        }
    }

    /// <summary>Runs the function under its policies; answers the refusal when one refuses it.</summary>
    private static async Task<ProblemResult?> ApplyPoliciesAsync(FunctionContext context, HttpContext http, FunctionPolicy policy, FunctionExecutionDelegate next)
    {
        var services = context.InstanceServices;
        var started = Stopwatch.GetTimestamp();
        if (policy.ClientLimit is { } group)
        {
            // Before the body is read.
            var decision = await services.GetRequiredService<ClientLimiter>().HitAsync(group, http.Client().IpAddress, http.RequestAborted);
            if (!decision.Allowed) return Errors.TooManyRequests(decision.RetryAfter).ToProblem();
        }
        if (policy.RequireCaller)
        {
            var header = http.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Errors.Unauthorized.ToProblem();
            var caller = await services.GetRequiredService<SessionService>().AuthenticateAsync(header["Bearer ".Length..].Trim(), http.RequestAborted);
            if (caller is null) return Errors.Unauthorized.ToProblem();
            http.SetCaller(caller with { IpAddress = http.Client().IpAddress });
            // The account as stored now, read with the session: a token's role claim may be stale.
            if (policy.RequireAdmin && caller.Account is not { Role: Roles.Admin, Status: AccountStatus.Active }) return Errors.Forbidden.ToProblem();
        }
        await next(context);
        if (policy.TimingFloor)
        {
            var floor = services.GetRequiredService<SecurityOptions>().EnumerationFloor;
            // A timer may fire a little early: wait again until the floor has really passed.
            for (var left = floor - Stopwatch.GetElapsedTime(started); left > TimeSpan.Zero; left = floor - Stopwatch.GetElapsedTime(started))
                await Task.Delay(left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left, http.RequestAborted);
        }
        return null;
    }

    private static Error Classify(Exception exception, HttpContext http) => exception switch
    {
        BadHttpRequestException { StatusCode: 413 } => Errors.PayloadTooLarge,
        BadHttpRequestException bad => new Error("bad_request", bad.StatusCode, "The request could not be read."),
        ConcurrencyConflictException => Errors.ConcurrentUpdate with { RetryAfter = TimeSpan.FromSeconds(1) },
        RequestFailedException or HttpRequestException or TimeoutException => Unavailable,
        AggregateException agg when agg.InnerExceptions.All(e => e is RequestFailedException or HttpRequestException) => Unavailable,
        TaskCanceledException when !http.RequestAborted.IsCancellationRequested => Unavailable,
        OperationCanceledException => new Error("request_aborted", 499, "The request was aborted."),
        _ => new Error("internal_error", 500, "Something went wrong on our side."),
    };

    private static readonly Error Unavailable = Errors.StorageUnavailable with { RetryAfter = TimeSpan.FromSeconds(5) };

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex WellFormed();

    /// <summary>A well-formed incoming <c>X-Correlation-Id</c>, else a new one.</summary>
    public static string CorrelationId(string? incoming) =>
        incoming is { } c && WellFormed().IsMatch(c) ? c : Guid.NewGuid().ToString("N");
}
