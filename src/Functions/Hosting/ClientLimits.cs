using AccountFunctions.Core;
using AccountFunctions.Core.Security;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// Per-IP limits for the endpoints an attacker would hammer, in one table so none is forgotten.
/// Runs before the body is read; a refused request answers 429 with Retry-After. Groups and
/// their defaults: <see cref="RateLimitOptions"/>.
/// </summary>
public static class ClientLimits
{
    public static readonly IReadOnlyDictionary<string, string> Groups = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["POST /api/signup"] = "signup",
        ["POST /api/signup/email"] = "signup",
        ["POST /api/signup/anonymous"] = "signup",
        ["POST /api/login"] = "login",
        ["POST /api/login/email"] = "magic",
        ["POST /api/login/email/redeem"] = "code",
        ["POST /api/login/mfa"] = "code",
        ["POST /api/login/external/exchange"] = "code",
        ["POST /api/email/verify"] = "code",
        ["POST /api/email/revert"] = "code",
        ["POST /api/email/resend"] = "resend",
        ["POST /api/password/forgot"] = "forgot",
        ["POST /api/password/reset"] = "code",
    };

    public static IApplicationBuilder UseClientLimits(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var path = http.Request.Path.Value?.TrimEnd('/') ?? "";
        if (Groups.TryGetValue(http.Request.Method + " " + path, out var group))
        {
            var limiter = http.RequestServices.GetRequiredService<ClientLimiter>();
            var decision = await limiter.HitAsync(group, http.Client().IpAddress, http.RequestAborted);
            if (!decision.Allowed)
            {
                await Errors.TooManyRequests(decision.RetryAfter).ToProblem().ExecuteAsync(http);
                return;
            }
        }
        await next(http);
    });
}
