namespace AccountFunctions.Core.Sessions;

/// <summary>
/// What a first sign-in step gives: a session, or (MFA on) the challenge to answer at
/// <c>POST /api/login/mfa</c>. <see cref="UseCookie"/> says where the refresh token goes.
/// </summary>
public sealed record SignIn(SessionView? Session, MfaChallenge? Challenge, bool UseCookie)
{
    public static SignIn With(SessionView session, bool useCookie) => new(session, null, useCookie);
    public static SignIn Mfa(MfaChallenge challenge) => new(null, challenge, false);
}

/// <summary>The contract's <c>{"mfaRequired": true, "mfaToken"}</c> answer.</summary>
public sealed record MfaChallenge(bool MfaRequired, string MfaToken);

/// <summary>
/// Issues the mfaToken of a second sign-in step. Declared here and implemented in Mfa/
/// (<c>MfaChallengeIssuer</c>) so that finishing a sign-in can ask for the second factor without
/// Sessions depending on the Mfa flow, which itself finishes its sign-ins here.
/// </summary>
public interface IMfaChallengeIssuer
{
    Task<MfaChallenge> IssueAsync(string accountId, bool rememberMe, bool useCookie, CancellationToken ct);
}
