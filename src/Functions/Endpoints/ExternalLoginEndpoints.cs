using System.Text.Json.Nodes;
using AccountFunctions.Core;
using AccountFunctions.Core.External;
using AccountFunctions.Functions.Hosting;

namespace AccountFunctions.Functions.Endpoints;

/// <summary>Sign-in with an OpenID Connect provider (docs/flows/external-login.md).</summary>
public static class ExternalLoginEndpoints
{
    /// <summary>
    /// Binds a started sign-in to the browser that started it: a random value whose hash the flow
    /// row keeps. SameSite=Lax, because the provider's redirect back is a cross-site top-level GET.
    /// </summary>
    public const string BindingCookie = "__Host-external";

    public sealed record ExchangeRequest(string? Code, bool? RememberMe, bool? UseCookie);

    public static void MapExternalLogin(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/login/external/{provider}", async (HttpContext http, string provider, ExternalLoginService external, ExternalOptions options) =>
        {
            var returnUrl = http.Request.Query["returnUrl"];
            if (returnUrl.Count > 1) return Errors.Validation("returnUrl", "Give one returnUrl.").ToProblem();
            http.Request.Cookies.TryGetValue(BindingCookie, out var binding);
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
        });

        app.MapGet("/api/login/external/{provider}/callback", async (HttpContext http, string provider, ExternalLoginService external) =>
        {
            var query = http.Request.Query;
            if (query.Any(p => p.Value.Count > 1)) return Errors.InvalidToken.ToProblem();
            http.Request.Cookies.TryGetValue(BindingCookie, out var binding);
            var callback = new ExternalCallback(Value("code"), Value("state"), Value("error"), Value("iss"));
            var result = await external.CallbackAsync(provider, callback, binding, http.RequestAborted);
            return result.ToHttp(location => NoStoreRedirect(http, location));

            string? Value(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
        });

        app.MapPost("/api/login/external/exchange", async (HttpContext http, ExternalLoginService external) =>
        {
            var body = await Json.ReadAsync<ExchangeRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await external.ExchangeAsync(body.Value!.Code, body.Value.RememberMe == true, body.Value.UseCookie == true,
                http.Client(), http.RequestAborted);
            return result.ToHttp(signIn => SessionEndpoints.SignInResult(http, signIn));
        });

        app.MapDelete("/api/me/external/{provider}", async (HttpContext http, string provider, ExternalLoginService external) =>
        {
            var result = await external.UnlinkAsync(http.Caller().AccountId, provider, http.Caller().IpAddress, http.RequestAborted);
            return result.ToHttp(_ => Results.NoContent());
        }).RequireCaller();
    }

    /// <summary>GET /api/me's Account plus <c>externalLogins: [{provider, linkedAt}]</c> (beyond the contract).</summary>
    public static JsonObject MeView(Account account)
    {
        var view = System.Text.Json.JsonSerializer.SerializeToNode(AccountView.From(account), Json.Options)!.AsObject();
        view["externalLogins"] = System.Text.Json.JsonSerializer.SerializeToNode(ExternalLinks.View(account), Json.Options);
        return view;
    }

    // The callback URL carries the provider's code: no caching of these answers, no Referer onwards.
    private static IResult NoStoreRedirect(HttpContext http, string location)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        return Results.Redirect(location);
    }
}
