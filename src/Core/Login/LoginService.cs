using AccountFunctions.Core.Mfa;
using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Signup;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Login;

public sealed record LoginRequest(string? Identifier, string? Password, bool? RememberMe, bool? UseCookie);

/// <summary>
/// Password sign-in. Unknown identifier and wrong password answer alike, and the unknown path
/// verifies against a dummy hash so both take one hash's time. The account's status is told
/// only once the password is right. Storage: one query of the identifier's partition (owner +
/// throttle rows), the account read, then one transaction (session insert + last-login update)
/// in the account's partition: three calls. With MFA on, the right password gets an mfaToken
/// instead (MfaChallenges) and the session comes from the second step.
/// </summary>
public sealed class LoginService(StorageContext storage, IdentifierIndex identifiers,
    PasswordHasher hasher, SessionService sessions, MfaChallenges mfa, LoginThrottle throttle, LockoutOptions lockout, AuditLog audit, TimeProvider time,
    ILogger<LoginService> log)
{
    public const int MaxPasswordLength = 1024;

    public async Task<Result<SignIn>> LoginAsync(LoginRequest request, ClientInfo client, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Identifier)) errors["identifier"] = ["An email address or account number is required."];
        else if (request.Identifier.Length > EmailAddress.MaxLength) errors["identifier"] = ["Too long."];
        if (string.IsNullOrEmpty(request.Password)) errors["password"] = ["A password is required."];
        else if (request.Password.Length > MaxPasswordLength) errors["password"] = ["Too long."];
        if (errors.Count > 0) return Errors.Validation(errors);

        await storage.ReadyAsync();
        var identifier = request.Identifier!.Trim();
        // Failed logins are counted per identifier, existing or not, so the throttle reveals nothing;
        // a blocked identifier is refused before any hashing. Its state shares the owner row's
        // partition: one query reads both.
        var partition = Partition(identifier);
        var (owner, throttleRow) = await throttle.ReadAsync(partition, ct);
        if (throttle.Blocked(throttleRow) is { } wait) return Errors.TooManyRequests(wait);
        var account = await FindAsync(identifier, owner, ct);
        if (account?.PasswordHash is null || !hasher.Verify(request.Password!, account.PasswordHash))
        {
            if (account?.PasswordHash is null) hasher.VerifyDummy(request.Password!);
            else log.LogInformation("Failed login for account {AccountId}", account.Id);
            await FailedAsync(partition, throttleRow, account, client, ct);
            return Errors.InvalidCredentials;
        }

        for (var attempt = 0; ; attempt++)
        {
            if (StatusError(account) is { } refused)
            {
                await audit.RecordAsync(AuditEvent.LoginFailed, account.Id, client.IpAddress, AuditLog.Detail(("reason", refused.Code)));
                return refused;
            }
            if (account.MfaEnabled)
            {
                // The password is known only now: upgrade its hash here, not at the second step.
                if (hasher.NeedsRehash(account.PasswordHash!))
                {
                    account.PasswordHash = hasher.Hash(request.Password!);
                    await storage.Accounts.TryReplaceAsync(account, ct); // lost to a concurrent change: next time
                }
                return SignIn.Mfa(await mfa.IssueAsync(account.Id, request.RememberMe == true, request.UseCookie == true, ct));
            }
            var now = time.GetUtcNow();
            var session = sessions.New(account.Id, request.RememberMe == true, client);
            account.LastLoginAt = now;
            if (hasher.NeedsRehash(account.PasswordHash!)) account.PasswordHash = hasher.Hash(request.Password!);
            if (await storage.Accounts.TrySubmitAsync(
                [new TableTransactionAction(TableTransactionActionType.UpdateReplace, account, account.ETag), SessionService.Add(session)], ct))
            {
                log.LogInformation("Account {AccountId} signed in, session {SessionId}", account.Id, session.SessionId);
                await audit.RecordAsync(AuditEvent.LoginSucceeded, account.Id, client.IpAddress, AuditLog.Detail(("session", session.SessionId)));
                return SignIn.With(await sessions.ViewAsync(account, session), request.UseCookie == true);
            }
            if (attempt >= 3) throw new ConcurrencyConflictException("Account kept changing during sign-in.");
            account = await storage.Accounts.GetOrNullAsync<Account>(account.Id, Account.Row, ct);
            if (account is null) return Errors.InvalidCredentials;
        }
    }

    /// <summary>The identifier's partition in the identifiers table (any other text: as if an email).</summary>
    private static string Partition(string identifier) =>
        AccountNumber.Parse(identifier) is { } number ? IdentifierIndex.NumberKey(AccountNumber.Hash(number))
        : IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(identifier));

    /// <summary>
    /// Counts a failed login. For an identifier that belongs to an account the failure is also
    /// audited, beside the count, so the known path takes no longer than the unknown one; the
    /// failure that starts a block records the throttle.
    /// </summary>
    private async Task FailedAsync(string partition, ThrottleRow? throttleRow, Account? account, ClientInfo client, CancellationToken ct)
    {
        var count = throttle.RecordFailureAsync(partition, throttleRow, ct);
        if (account is null)
        {
            await count;
            return;
        }
        await Task.WhenAll(count, audit.RecordAsync(AuditEvent.LoginFailed, account.Id, client.IpAddress, AuditLog.Detail(("reason", Errors.InvalidCredentials.Code))));
        if (await count)
            await audit.RecordAsync(AuditEvent.LoginThrottled, account.Id, client.IpAddress,
                AuditLog.Detail(("failures", lockout.MaxFailedAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    public static Error? StatusError(Account account) => account.Status switch
    {
        AccountStatus.Active => null,
        AccountStatus.Unverified => Errors.EmailNotVerified,
        AccountStatus.PendingApproval => Errors.ApprovalPending,
        AccountStatus.Rejected => Errors.AccountRejected,
        _ => Errors.AccountLocked,
    };

    /// <summary>
    /// The verified owner of the address (or the account number's owner); failing that, the newest
    /// unverified claim on the address (so its owner learns to verify). Only one candidate, so only
    /// one hash, whatever exists.
    /// </summary>
    private async Task<Account?> FindAsync(string identifier, IdentifierRow? owner, CancellationToken ct)
    {
        var owned = owner is null ? null : await storage.Accounts.GetOrNullAsync<Account>(owner.AccountId, Account.Row, ct);
        if (AccountNumber.Parse(identifier) is { } number) return owned?.AccountNumber == number ? owned : null;
        if (!EmailAddress.IsValid(identifier)) return null;
        var hash = EmailAddress.Hash(identifier);
        if (owned is { EmailVerified: true, Email: not null } && EmailAddress.Hash(owned.Email) == hash) return owned;
        var claim = (await identifiers.ListClaimsAsync(hash, 1, ct)).FirstOrDefault();
        if (claim is null) return null;
        var account = await storage.Accounts.GetOrNullAsync<Account>(claim.AccountId, Account.Row, ct);
        return account is { EmailVerified: false, Email: not null } && EmailAddress.Hash(account.Email) == hash ? account : null;
    }
}
