using AccountFunctions.Core.Mfa;

namespace AccountFunctions.Core.Login;

/// <summary>
/// What a first sign-in step gives: a session, or (MFA on) the challenge to answer at
/// <c>POST /api/login/mfa</c>. <see cref="UseCookie"/> says where the refresh token goes.
/// </summary>
public sealed record SignIn(SessionView? Session, MfaChallenge? Challenge, bool UseCookie)
{
    public static SignIn With(SessionView session, bool useCookie) => new(session, null, useCookie);
    public static SignIn Mfa(MfaChallenge challenge) => new(null, challenge, false);
}
