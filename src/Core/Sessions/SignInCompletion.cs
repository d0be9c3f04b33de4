using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Sessions;

/// <summary>How a sign-in was proven: its words in the log line, and its audit event and detail.</summary>
public sealed record SignInMethod(string Name, string? AuditEvent, params (string Key, string? Value)[] Detail)
{
    /// <summary>Whether a right proof refused by the account's status is recorded (<c>login_failed</c>, <c>reason</c>).</summary>
    public bool AuditsRefusal { get; init; }

    public static readonly SignInMethod Password = new("password", Audit.AuditEvent.LoginSucceeded) { AuditsRefusal = true };
    public static readonly SignInMethod Email = new("email", Audit.AuditEvent.MagicLinkRedeemed);
    public static readonly SignInMethod External = new("external provider", Audit.AuditEvent.LoginSucceeded, ("method", "external"));
    public static readonly SignInMethod Totp = new("authenticator code", Audit.AuditEvent.LoginSucceeded, ("factor", "totp"));
    public static readonly SignInMethod RecoveryCode = new("recovery code", Audit.AuditEvent.LoginSucceeded, ("factor", "recovery_code"));
    /// <summary>Signed in by the email verification itself (passwordless); the flow records <c>email_verified</c>.</summary>
    public static readonly SignInMethod Verification = new("email verification", null);
    /// <summary>Signed in by creating the account (account number); the flow records <c>signup</c>.</summary>
    public static readonly SignInMethod Signup = new("signup", null);
}

/// <summary>
/// What a flow brings to <see cref="SignInCompletion"/>: the account it proved (as read, or only
/// its id), and what is its own. <see cref="Check"/> is the flow's condition on every read of the
/// account (null: gone), <see cref="Change"/> what it changes before the write (true when that
/// change must be written with the ETag read).
/// </summary>
public sealed record SignInStep(string AccountId, SignInMethod Method, bool RememberMe, bool UseCookie)
{
    /// <summary>The account as the flow read it; null to read it here.</summary>
    public Account? Account { get; init; }
    public Func<Account?, Error?>? Check { get; init; }
    public Func<Account, bool>? Change { get; init; }
    /// <summary>The second step itself: no challenge, the second factor is what was proven.</summary>
    public bool SecondFactorProven { get; init; }
    /// <summary>
    /// The answer has no place for a challenge (email verification answers a status and maybe a
    /// session): an account with MFA on is signed in without one, as it was before this class.
    /// </summary>
    public bool NoChallenge { get; init; }
    /// <summary>The account does not exist yet: it is inserted with the session in one transaction.</summary>
    public bool Create { get; init; }
}

/// <summary>
/// Finishes every sign-in, whatever proved it: the account's status, the second factor when MFA
/// is on and not yet proven (an mfaToken instead of a session), the session row with the account
/// write in one transaction, one audit event, the log line, and the answer.
/// The account write: with the ETag read when the flow changes something that must be exact (a
/// hash upgrade, a spent email grant, the TOTP step), retried with back-off after re-reading and
/// re-checking status and the flow's condition; otherwise the session and the last sign-in time
/// need no ETag (<see cref="SessionService.SignIn"/>), so parallel sign-ins never conflict
/// (issue 17). A lock, reset or password change racing a sign-in bumps SessionEpoch, which ends
/// the session even if it commits after the sessions were ended.
/// </summary>
public sealed class SignInCompletion(AccountsTable accounts, SessionService sessions, IMfaChallengeIssuer mfa, AuditLog audit,
    TimeProvider time, ILogger<SignInCompletion> log)
{
    public async Task<Result<SignIn>> CompleteAsync(SignInStep step, ClientInfo client, CancellationToken ct = default)
    {
        var account = step.Account;
        Result<SignIn> result = default;
        await Optimistic.RetryAsync(async attempt =>
        {
            if (attempt > 0 || account is null) account = await accounts.GetAsync(step.AccountId, ct);
            if ((step.Check?.Invoke(account) ?? (account is null ? Errors.InvalidToken : null)) is { } invalid)
            {
                result = invalid;
                return true;
            }
            if (account!.StatusError() is { } refused)
            {
                if (step.Method.AuditsRefusal)
                    await audit.RecordAsync(AuditEvent.LoginFailed, account.Id, client.IpAddress, AuditLog.Detail(("reason", refused.Code)));
                result = refused;
                return true;
            }
            var exact = step.Change?.Invoke(account) ?? false;
            if (account.MfaEnabled && !step.SecondFactorProven && !step.NoChallenge)
            {
                // What the first step changed is written now (the password is known only now; the
                // email grant is spent either way); the session comes from the second step.
                if (exact && !await accounts.TryReplaceAsync(account, ct)) return false;
                result = SignIn.Mfa(await mfa.IssueAsync(account.Id, step.RememberMe, step.UseCookie, ct));
                return true;
            }

            var session = sessions.New(account, step.RememberMe, client);
            if (step.Create || exact)
            {
                account.LastLoginAt = time.GetUtcNow();
                var change = (step.Create ? AccountChange.Create(account) : AccountChange.Of(account)).AddSession(session);
                if (step.Create) await accounts.CommitAsync(change, ct);
                else if (!await accounts.TryCommitAsync(change, ct)) return false;
            }
            else if (!await accounts.TryCommitAsync(sessions.SignIn(account, session), ct)) return false;

            log.LogInformation("Account {AccountId} signed in by {Method}, session {SessionId}", account.Id, step.Method.Name, session.SessionId);
            if (step.Method.AuditEvent is { } type)
                await audit.RecordAsync(type, account.Id, client.IpAddress, AuditLog.Detail([("session", session.SessionId), .. step.Method.Detail]));
            result = SignIn.With(await sessions.ViewAsync(account, session), step.UseCookie);
            return true;
        }, "Account kept changing during sign-in.", ct);
        return result;
    }
}
