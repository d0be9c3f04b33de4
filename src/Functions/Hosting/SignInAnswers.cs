using AccountFunctions.Core;
using AccountFunctions.Core.Login;
using AccountFunctions.Core.Mfa;
using AccountFunctions.Core.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// The answer to a sign-in, shared by every function that signs someone in (password, email
/// link or code, second factor, external provider) and by the token refresh.
/// </summary>
public static class SignInAnswers
{
    /// <summary>
    /// With <c>useCookie</c> the refresh token travels in this cookie instead of the body; the
    /// <c>__Host-</c> prefix pins it to this host, path / and Secure.
    /// </summary>
    public const string RefreshCookie = "__Host-refresh";

    /// <summary>A session (cookie mode as asked), the MFA challenge as it is, or the problem.</summary>
    public static Results<JsonHttpResult<SessionView>, JsonHttpResult<MfaChallenge>, ProblemResult> Of(HttpContext http, Result<SignIn> result)
    {
        if (!result.Ok) return result.Error!.ToProblem();
        var signIn = result.Value!;
        return signIn.Challenge is { } challenge ? Answers.Ok(challenge) : Session(http, signIn.Session!, signIn.UseCookie);
    }

    /// <summary>A session: the refresh token in the body, or with <paramref name="useCookie"/> in <see cref="RefreshCookie"/> only.</summary>
    public static JsonHttpResult<SessionView> Session(HttpContext http, SessionView session, bool useCookie)
    {
        if (!useCookie) return Answers.Ok(session);
        http.Response.Cookies.Append(RefreshCookie, session.RefreshToken!, new CookieOptions
        {
            HttpOnly = true,
            Secure = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            MaxAge = TimeSpan.FromSeconds(session.RefreshExpiresIn),
        });
        return Answers.Ok(session with { RefreshToken = null });
    }
}
