using AccountFunctions.Core;
using AccountFunctions.Core.Sessions;

namespace AccountFunctions.Functions.Hosting;

/// <summary>Bearer authentication: a valid ES256 access token whose session is still alive.</summary>
public static class Auth
{
    private const string CallerKey = "caller";

    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var header = http.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Errors.Unauthorized.ToProblem();
            var sessions = http.RequestServices.GetRequiredService<SessionService>();
            var caller = await sessions.AuthenticateAsync(header["Bearer ".Length..].Trim(), http.RequestAborted);
            if (caller is null) return Errors.Unauthorized.ToProblem();
            http.Items[CallerKey] = caller with { IpAddress = http.Client().IpAddress };
            return await next(context);
        });

    public static Caller Caller(this HttpContext context) =>
        context.Items[CallerKey] as Caller ?? throw new InvalidOperationException("RequireCaller() is missing on this endpoint.");

    /// <summary>
    /// Who is calling: the user agent, and the address Azure's front end appended last to
    /// X-Forwarded-For (entries before it could have been written by the client).
    /// </summary>
    public static ClientInfo Client(this HttpContext context)
    {
        var forwarded = context.Request.Headers["X-Forwarded-For"].ToString();
        var ip = forwarded.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            ?? context.Connection.RemoteIpAddress?.ToString();
        return new ClientInfo(context.Request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua : null, ip);
    }
}
