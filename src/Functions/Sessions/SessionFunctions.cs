using AccountFunctions.Core;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Sessions;

/// <summary>Refresh-token rotation, logout, and the caller's own sessions.</summary>
public sealed class SessionFunctions(SessionService sessions, SameOrigin sameOrigin)
{
    public sealed record RefreshRequest(string? RefreshToken, bool? UseCookie);

    [Function("RefreshToken")]
    public async Task<Results<JsonHttpResult<SessionView>, ProblemResult>> Refresh([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/token/refresh")] HttpRequest req)
    {
        var http = req.HttpContext;
        var (token, fromCookie, wantsCookie, error) = await RefreshTokenFromAsync(http, sameOrigin);
        if (error is not null) return error.ToProblem();
        var result = await sessions.RefreshAsync(token, http.Client(), http.RequestAborted);
        if (!result.Ok && fromCookie) ClearCookie(http);
        // A session that arrived in a body (magic link, verification, 2FA) moves into the
        // cookie with one refresh carrying useCookie: the pages keep no refresh token in script.
        return result.ToHttp(session => SignInAnswers.Session(http, session, fromCookie || wantsCookie));
    }

    [Function("Logout")]
    public async Task<Results<NoContent, ProblemResult>> Logout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/logout")] HttpRequest req)
    {
        var http = req.HttpContext;
        var (token, fromCookie, _, error) = await RefreshTokenFromAsync(http, sameOrigin);
        if (error is not null) return error.ToProblem();
        await sessions.LogoutAsync(token, http.Client(), http.RequestAborted);
        if (fromCookie) ClearCookie(http);
        return TypedResults.NoContent();
    }

    [Function("ListSessions"), RequireCaller]
    public async Task<JsonHttpResult<List<SessionService.SessionInfo>>> List([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/me/sessions")] HttpRequest req) =>
        Answers.Ok(await sessions.ListAsync(req.HttpContext.Caller(), req.HttpContext.RequestAborted));

    [Function("EndSession"), RequireCaller]
    public async Task<Results<NoContent, ProblemResult>> End([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/me/sessions/{id}")] HttpRequest req, string id) =>
        await sessions.EndAsync(req.HttpContext.Caller(), id, req.HttpContext.Client(), req.HttpContext.RequestAborted)
            ? TypedResults.NoContent()
            : Errors.NotFound.ToProblem();

    private static void ClearCookie(HttpContext http) =>
        http.Response.Cookies.Delete(SignInAnswers.RefreshCookie, new CookieOptions { Secure = true, HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });

    /// <summary>
    /// The refresh token from the JSON body, or failing that from the cookie (an empty body is
    /// allowed then); and whether the body asked for the cookie (<c>useCookie</c>). The cookie is an
    /// ambient credential, which a browser adds to a request another site's page makes (SameSite=Strict
    /// still lets a sibling subdomain's through): it is taken only from a same-origin request
    /// (<see cref="SameOrigin"/>), else <c>403 cross_site_request</c>, before the session is touched.
    /// A token in the body was put there by the caller: no origin is asked for.
    /// </summary>
    private static async Task<(string? Token, bool FromCookie, bool WantsCookie, Error? Error)> RefreshTokenFromAsync(HttpContext http, SameOrigin sameOrigin)
    {
        if (http.Request.ContentLength is null or 0 && http.Request.Cookies.TryGetValue(SignInAnswers.RefreshCookie, out var cookie))
            return FromCookie(cookie);
        var body = await Json.ReadAsync<RefreshRequest>(http);
        if (!body.Ok) return (null, false, false, body.Error);
        var wantsCookie = body.Value!.UseCookie == true;
        if (body.Value.RefreshToken is { Length: > 0 } token) return (token, false, wantsCookie, null);
        if (http.Request.Cookies.TryGetValue(SignInAnswers.RefreshCookie, out cookie)) return FromCookie(cookie);
        return (null, false, false, Errors.Validation("refreshToken", "A refresh token is required (in the body or the cookie)."));

        (string?, bool, bool, Error?) FromCookie(string value) =>
            sameOrigin.Allows(http.Request) ? (value, true, true, null) : (null, false, false, Errors.CrossSiteRequest);
    }
}
