using AccountFunctions.Core;
using AccountFunctions.Core.Login;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Functions.Hosting;

namespace AccountFunctions.Functions.Endpoints;

public static class SessionEndpoints
{
    /// <summary>
    /// With <c>useCookie</c> the refresh token travels in this cookie instead of the body; the
    /// <c>__Host-</c> prefix pins it to this host, path / and Secure.
    /// </summary>
    public const string RefreshCookie = "__Host-refresh";

    public sealed record RefreshRequest(string? RefreshToken, bool? UseCookie);
    public sealed record DeleteMeRequest(string? CurrentPassword);

    public static void MapSessions(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/login", async (HttpContext http, LoginService login) =>
        {
            var body = await Json.ReadAsync<LoginRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await login.LoginAsync(body.Value!, http.Client(), http.RequestAborted);
            return result.ToHttp(signIn => SignInResult(http, signIn));
        });

        app.MapPost("/api/login/email", async (HttpContext http, MagicLinkService magic) =>
        {
            var body = await Json.ReadAsync<RegistrationEndpoints.ResendRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await magic.RequestAsync(body.Value!.Email, http.Client(), http.RequestAborted);
            return result.ToHttp(status => Results.Json(new { status }, Json.Options, statusCode: StatusCodes.Status202Accepted));
        }).WithTimingFloor();

        app.MapPost("/api/login/email/redeem", async (HttpContext http, MagicLinkService magic) =>
        {
            var body = await Json.ReadAsync<MagicRedeemRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await magic.RedeemAsync(body.Value!, http.Client(), http.RequestAborted);
            return result.ToHttp(signIn => SignInResult(http, signIn));
        });

        app.MapPost("/api/token/refresh", async (HttpContext http, SessionService sessions) =>
        {
            var (token, fromCookie, wantsCookie, error) = await RefreshTokenFromAsync(http);
            if (error is not null) return error.ToProblem();
            var result = await sessions.RefreshAsync(token, http.Client(), http.RequestAborted);
            if (!result.Ok && fromCookie) ClearCookie(http);
            // A session that arrived in a body (magic link, verification, 2FA) moves into the
            // cookie with one refresh carrying useCookie: the pages keep no refresh token in script.
            return result.ToHttp(session => SessionResult(http, session, fromCookie || wantsCookie));
        });

        app.MapPost("/api/logout", async (HttpContext http, SessionService sessions) =>
        {
            var (token, fromCookie, _, error) = await RefreshTokenFromAsync(http);
            if (error is not null) return error.ToProblem();
            await sessions.LogoutAsync(token, http.Client(), http.RequestAborted);
            if (fromCookie) ClearCookie(http);
            return Results.NoContent();
        });

        // The account was read with the session by RequireCaller: one storage call in all.
        app.MapGet("/api/me", (HttpContext http) =>
            http.Caller().Account is { } account ? Results.Json(ExternalLoginEndpoints.MeView(account), Json.Options) : Errors.Unauthorized.ToProblem())
            .RequireCaller();

        app.MapPatch("/api/me", async (HttpContext http, Core.Profile.ProfileService profiles) =>
        {
            var body = await Json.ReadAsync<Dictionary<string, System.Text.Json.JsonElement>>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await profiles.UpdateAsync(http.Caller().AccountId, body.Value!, http.RequestAborted);
            return result.ToHttp(account => Results.Json(account, Json.Options));
        }).RequireCaller();

        app.MapDelete("/api/me", async (HttpContext http, Core.Profile.ProfileService profiles) =>
        {
            var body = await Json.ReadAsync<DeleteMeRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await profiles.DeleteAsync(http.Caller().AccountId, body.Value!.CurrentPassword, http.RequestAborted);
            return result.ToHttp(_ => Results.NoContent());
        }).RequireCaller();

        app.MapGet("/api/me/sessions", async (HttpContext http, SessionService sessions) =>
            Results.Json(await sessions.ListAsync(http.Caller(), http.RequestAborted), Json.Options)).RequireCaller();

        app.MapDelete("/api/me/sessions/{id}", async (HttpContext http, string id, SessionService sessions) =>
            await sessions.EndAsync(http.Caller(), id, http.Client(), http.RequestAborted) ? Results.NoContent() : Errors.NotFound.ToProblem()).RequireCaller();

        app.MapGet("/api/.well-known/jwks.json", async (AccessTokens tokens) =>
            Results.Json(await tokens.JwksAsync(), Json.Options, contentType: "application/json"));
    }

    /// <summary>A session (cookie mode as asked), or the MFA challenge as it is.</summary>
    internal static IResult SignInResult(HttpContext http, SignIn signIn) =>
        signIn.Challenge is { } challenge ? Results.Json(challenge, Json.Options) : SessionResult(http, signIn.Session!, signIn.UseCookie);

    internal static IResult SessionResult(HttpContext http, SessionView session, bool useCookie)
    {
        if (!useCookie) return Results.Json(session, Json.Options);
        http.Response.Cookies.Append(RefreshCookie, session.RefreshToken!, new CookieOptions
        {
            HttpOnly = true,
            Secure = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            MaxAge = TimeSpan.FromSeconds(session.RefreshExpiresIn),
        });
        return Results.Json(session with { RefreshToken = null }, Json.Options);
    }

    private static void ClearCookie(HttpContext http) =>
        http.Response.Cookies.Delete(RefreshCookie, new CookieOptions { Secure = true, HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });

    /// <summary>
    /// The refresh token from the JSON body, or failing that from the cookie (an empty body is
    /// allowed then); and whether the body asked for the cookie (<c>useCookie</c>).
    /// </summary>
    private static async Task<(string? Token, bool FromCookie, bool WantsCookie, Error? Error)> RefreshTokenFromAsync(HttpContext http)
    {
        if (http.Request.ContentLength is null or 0 && http.Request.Cookies.TryGetValue(RefreshCookie, out var cookie))
            return (cookie, true, true, null);
        var body = await Json.ReadAsync<RefreshRequest>(http);
        if (!body.Ok) return (null, false, false, body.Error);
        var wantsCookie = body.Value!.UseCookie == true;
        if (body.Value.RefreshToken is { Length: > 0 } token) return (token, false, wantsCookie, null);
        if (http.Request.Cookies.TryGetValue(RefreshCookie, out cookie)) return (cookie, true, true, null);
        return (null, false, false, Errors.Validation("refreshToken", "A refresh token is required (in the body or the cookie)."));
    }
}
