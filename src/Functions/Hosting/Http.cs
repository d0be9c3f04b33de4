using AccountFunctions.Core;
using AccountFunctions.Core.Sessions;
using Microsoft.AspNetCore.Http;

namespace AccountFunctions.Functions.Hosting;

/// <summary>Who is calling: the caller <see cref="EdgeMiddleware"/> authenticated, and the client's address.</summary>
public static class Http
{
    private const string CallerKey = "caller";

    internal static void SetCaller(this HttpContext context, Caller caller) => context.Items[CallerKey] = caller;

    public static Caller Caller(this HttpContext context) =>
        context.Items[CallerKey] as Caller ?? throw new InvalidOperationException("[RequireCaller] is missing on this function.");

    /// <summary>
    /// The user agent, and the client's address: the worker's forwarded-headers processing has
    /// already moved the last <c>X-Forwarded-For</c> hop (the one Azure's front end appended; the
    /// entries before it could have been written by the client) into the connection's remote address.
    /// </summary>
    public static ClientInfo Client(this HttpContext context) =>
        new(context.Request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua : null, context.Connection.RemoteIpAddress?.ToString());
}
