using AccountFunctions.Core;
using AccountFunctions.Core.Security;
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
    /// The user agent, and the client's address, parsed (<see cref="ClientAddress"/>: no port, no
    /// brackets, IPv4-mapped as IPv4, canonical IPv6; null when it is no address), from where
    /// <see cref="ClientIpOptions"/> says. By default that is what the platform gives: the worker's
    /// forwarded-headers processing moves the last <c>X-Forwarded-For</c> hop (the one Azure's front
    /// end appended; entries before it could have been written by the client) into the connection's
    /// remote address and keeps the original in <c>X-Original-For</c>. When it refused the hop (it
    /// takes only what parses as an endpoint), the header is still there: the last hop is read from
    /// it here, so a hop it could not parse is an unknown client, never the proxy's own address.
    /// </summary>
    public static ClientInfo Client(this HttpContext context)
    {
        var ua = context.Request.Headers.UserAgent.ToString() is { Length: > 0 } u ? u : null;
        return new ClientInfo(ua, ClientIp(context));
    }

    private const string RawForwardedKey = "raw-x-forwarded-for";

    private static string? ClientIp(HttpContext context)
    {
        var options = context.RequestServices.GetService<ClientIpOptions>() ?? new ClientIpOptions();
        var headers = context.Request.Headers;
        var name = options.Header is { Length: > 0 } h ? h : "X-Forwarded-For";
        string?[] values;
        if (!name.Equals("X-Forwarded-For", StringComparison.OrdinalIgnoreCase)) values = headers[name].ToArray();
        else if (context.Items[RawForwardedKey] is string?[] raw) values = raw; // as it arrived (RawForwardedFor)
        else
        {
            // Not captured: rebuild it. Where the platform consumed the last hop (X-Original-For set),
            // that hop is the remote address now; where it refused it, the header is still whole.
            values = headers["X-Forwarded-For"].ToArray();
            if (headers.ContainsKey("X-Original-For")) values = [.. values, context.Connection.RemoteIpAddress?.ToString()];
        }
        if (values.Length == 0 && options.Header is not { Length: > 0 })
            return ClientAddress.Parse(context.Connection.RemoteIpAddress?.ToString()); // no proxy in front at all
        return ClientAddress.Parse(ClientAddress.Hop(values, options.HopFromEnd));
    }

    /// <summary>
    /// Keeps <c>X-Forwarded-For</c> as it arrived, before the worker's forwarded-headers processing
    /// rewrites it: that processing takes legacy forms such as <c>1</c> or <c>0x7f.1</c> for
    /// addresses (0.0.0.1, 127.0.0.1) and drops the hop's text, so it cannot be parsed strictly after.
    /// </summary>
    internal sealed class RawForwardedFor : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            app.Use(nextMiddleware => context =>
            {
                context.Items[RawForwardedKey] = context.Request.Headers["X-Forwarded-For"].ToArray();
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
