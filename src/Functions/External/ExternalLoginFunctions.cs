using AccountFunctions.Core;
using AccountFunctions.Core.External;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.External;

/// <summary>Sign-in with an OpenID Connect provider (docs/flows/external-login.md).</summary>
public sealed class ExternalLoginFunctions(ExternalLoginService external, ExternalOptions options)
{
    /// <summary>
    /// Binds a started sign-in to the browser that started it: a random value whose hash the flow
    /// row keeps. SameSite=Lax, because the provider's redirect back is a cross-site top-level GET.
    /// </summary>
    public const string BindingCookie = "__Host-external";

    public sealed record ExchangeRequest(string? Code, bool? RememberMe, bool? UseCookie);

    [Function("StartExternalLogin")]
    public async Task<Results<RedirectHttpResult, ProblemResult>> Start([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/login/external/{provider}")] HttpRequest req, string provider)
    {
        var http = req.HttpContext;
        var returnUrl = req.Query["returnUrl"];
        if (returnUrl.Count > 1) return Errors.Validation("returnUrl", "Give one returnUrl.").ToProblem();
        req.Cookies.TryGetValue(BindingCookie, out var binding);
        var result = await external.StartAsync(provider, returnUrl.ToString(), binding, http.Client(), http.RequestAborted);
        return result.ToHttp(start =>
        {
            http.Response.Cookies.Append(BindingCookie, start.BrowserBinding, new CookieOptions
            {
                HttpOnly = true,
                Secure = true,
                SameSite = SameSiteMode.Lax,
                Path = "/",
                MaxAge = options.FlowLifetime,
            });
            return NoStoreRedirect(http, start.AuthorizationUrl);
        });
    }

    [Function("ExternalLoginCallback")]
    public async Task<Results<RedirectHttpResult, ProblemResult>> Callback([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/login/external/{provider}/callback")] HttpRequest req, string provider)
    {
        var query = req.Query;
        if (query.Any(p => p.Value.Count > 1)) return Errors.InvalidToken.ToProblem();
        req.Cookies.TryGetValue(BindingCookie, out var binding);
        var callback = new ExternalCallback(Value("code"), Value("state"), Value("error"), Value("iss"));
        var result = await external.CallbackAsync(provider, callback, binding, req.HttpContext.RequestAborted);
        return result.ToHttp(location => NoStoreRedirect(req.HttpContext, location));

        string? Value(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
    }

    [Function("ExchangeExternalLogin"), ClientLimit(ClientLimitGroup.CodeEntry)]
    public async Task<Results<JsonHttpResult<SessionView>, JsonHttpResult<MfaChallenge>, ProblemResult>> Exchange([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/login/external/exchange")] HttpRequest req)
    {
        var body = await Json.ReadAsync<ExchangeRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var result = await external.ExchangeAsync(body.Value!.Code, body.Value.RememberMe == true, body.Value.UseCookie == true,
            req.HttpContext.Client(), req.HttpContext.RequestAborted);
        return SignInAnswers.Of(req.HttpContext, result);
    }

    [Function("UnlinkExternalLogin"), RequireCaller]
    public async Task<Results<NoContent, ProblemResult>> Unlink([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/me/external/{provider}")] HttpRequest req, string provider)
    {
        var caller = req.HttpContext.Caller();
        var result = await external.UnlinkAsync(caller.AccountId, provider, caller.IpAddress, req.HttpContext.RequestAborted);
        return result.ToHttp(_ => TypedResults.NoContent());
    }

    // The callback URL carries the provider's code: no caching of these answers, no Referer onwards.
    private static RedirectHttpResult NoStoreRedirect(HttpContext http, string location)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        return TypedResults.Redirect(location);
    }
}
