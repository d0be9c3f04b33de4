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
/// only once the password is right. Storage: owner row + account read, then one transaction
/// (session insert + last-login update) in the account's partition.
/// </summary>
public sealed class LoginService(StorageContext storage, IdentifierIndex identifiers, SignupService signup,
    PasswordHasher hasher, SessionService sessions, RateLimiter limiter, LockoutOptions lockout, AuditLog audit, TimeProvider time,
    ILogger<LoginService> log)
{
    public const int MaxPasswordLength = 1024;

    public async Task<Result<SessionView>> LoginAsync(LoginRequest request, ClientInfo client, CancellationToken ct = default)
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
        // a throttled identifier is refused before any hashing. The check runs beside the lookup.
        var throttleKey = ThrottleKey(identifier);
        var throttle = limiter.PeekAsync("login", throttleKey, lockout.MaxFailedAttempts, lockout.Duration, ct);
        var found = FindAsync(identifier, ct);
        await Task.WhenAll(throttle, found);
        if (!throttle.Result.Allowed) return Errors.TooManyRequests(throttle.Result.RetryAfter);
        var account = found.Result;
        if (account?.PasswordHash is null)
        {
            hasher.VerifyDummy(request.Password!);
            await FailedAsync(throttleKey, account, client, ct);
            return Errors.InvalidCredentials;
        }
        if (!hasher.Verify(request.Password!, account.PasswordHash))
        {
            await FailedAsync(throttleKey, account, client, ct);
            log.LogInformation("Failed login for account {AccountId}", account.Id);
            return Errors.InvalidCredentials;
        }

        for (var attempt = 0; ; attempt++)
        {
            if (StatusError(account) is { } refused)
            {
                await audit.RecordAsync(AuditEvent.LoginFailed, account.Id, client.IpAddress, AuditLog.Detail(("reason", refused.Code)));
                return refused;
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
                return await sessions.ViewAsync(account, session);
            }
            if (attempt >= 3) throw new InvalidOperationException("Account kept changing during sign-in.");
            account = await storage.Accounts.GetOrNullAsync<Account>(account.Id, Account.Row, ct);
            if (account is null) return Errors.InvalidCredentials;
        }
    }

    /// <summary>
    /// Counts a failed login. For an identifier that belongs to an account the failure is also
    /// audited, beside the count, so the known path takes no longer than the unknown one; the
    /// failure that reaches the limit records the throttle once per window.
    /// </summary>
    private async Task FailedAsync(string throttleKey, Account? account, ClientInfo client, CancellationToken ct)
    {
        var hit = limiter.HitAsync("login", throttleKey, int.MaxValue, lockout.Duration, ct);
        if (account is null)
        {
            await hit;
            return;
        }
        await Task.WhenAll(hit, audit.RecordAsync(AuditEvent.LoginFailed, account.Id, client.IpAddress, AuditLog.Detail(("reason", Errors.InvalidCredentials.Code))));
        if ((await hit).Count == lockout.MaxFailedAttempts)
            await audit.RecordAsync(AuditEvent.LoginThrottled, account.Id, client.IpAddress,
                AuditLog.Detail(("failures", lockout.MaxFailedAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    private static string ThrottleKey(string identifier) =>
        AccountNumber.Parse(identifier) is { } number ? AccountNumber.Hash(number)
        : EmailAddress.Hash(identifier); // for any other text too: a hash of its normalised form

    public static Error? StatusError(Account account) => account.Status switch
    {
        AccountStatus.Active => null,
        AccountStatus.Unverified => Errors.EmailNotVerified,
        AccountStatus.PendingApproval => Errors.ApprovalPending,
        AccountStatus.Rejected => Errors.AccountRejected,
        _ => Errors.AccountLocked,
    };

    /// <summary>
    /// The verified owner of the address; failing that, the newest unverified claim on it (so
    /// its owner learns to verify). Only one candidate, so only one hash, whatever exists.
    /// </summary>
    private async Task<Account?> FindAsync(string identifier, CancellationToken ct)
    {
        if (AccountNumber.Parse(identifier) is { } number)
        {
            var row = await identifiers.GetNumberOwnerAsync(AccountNumber.Hash(number), ct);
            var numbered = row is null ? null : await storage.Accounts.GetOrNullAsync<Account>(row.AccountId, Account.Row, ct);
            return numbered?.AccountNumber == number ? numbered : null;
        }
        if (!EmailAddress.IsValid(identifier)) return null;
        var hash = EmailAddress.Hash(identifier);
        var owner = await signup.OwnerAsync(hash, ct);
        if (owner is not null) return owner;
        var claim = (await identifiers.ListClaimsAsync(hash, 1, ct)).FirstOrDefault();
        if (claim is null) return null;
        var account = await storage.Accounts.GetOrNullAsync<Account>(claim.AccountId, Account.Row, ct);
        return account is { EmailVerified: false, Email: not null } && EmailAddress.Hash(account.Email) == hash ? account : null;
    }
}
