using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Login;

public sealed record LoginRequest(string? Identifier, string? Password, bool? RememberMe, bool? UseCookie);

/// <summary>
/// Password sign-in. Unknown identifier and wrong password answer alike, and the unknown path
/// does the same work: a dummy hash, a read of a placeholder account row, the throttle write and
/// placeholder audit inserts, so both take one hash's time and the same storage calls. The
/// account's status is told only once the password is right. Storage: one query of the
/// identifier's partition (owner + throttle rows) with, for an email, the query of its claims
/// beside it, the account read, then one transaction (session insert, and the last-login time
/// when stale) in the account's partition. The account's status, the second factor and the
/// session are <see cref="SignInCompletion"/>'s, as for every other way to sign in.
/// </summary>
public sealed class LoginService(AccountsTable accounts, IdentifierIndex identifiers,
    PasswordHasher hasher, SignInCompletion completion, LoginThrottle throttle, LoginThrottleOptions lockout, AuditLog audit,
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

        var identifier = request.Identifier!.Trim();
        // Failed logins are counted per identifier, existing or not, so the throttle reveals nothing;
        // a blocked identifier is refused before any hashing. Its state shares the owner row's
        // partition: one query reads both.
        var partition = Partition(identifier);
        var isNumber = AccountNumber.Parse(identifier) is not null;
        // Unverified claims on an address are queried beside it on every email path, found or not,
        // so a known and an unknown address make the same calls (issue 18; LoginTests counts them).
        var claimsQuery = isNumber ? null : identifiers.ListClaimsAsync(EmailAddress.Hash(identifier), 1, ct);
        var (owner, throttleRow) = await throttle.ReadAsync(partition, ct);
        var claims = claimsQuery is null ? null : await claimsQuery;
        // The try is counted before the password is checked (issue 23): of requests in flight
        // together at most the limit are checked; a right password gives its try back.
        var reservation = await throttle.ReserveAsync(partition, throttleRow, ct);
        if (!reservation.Reserved) return Errors.TooManyRequests(reservation.RetryAfter);
        var account = await FindAsync(identifier, owner, claims?.FirstOrDefault(), ct);
        if (account?.PasswordHash is null || !hasher.Verify(request.Password!, account.PasswordHash))
        {
            if (account?.PasswordHash is null) hasher.VerifyDummy(request.Password!);
            else log.LogInformation("Failed login for account {AccountId}", account.Id);
            await FailedAsync(reservation, account, client, ct);
            return Errors.InvalidCredentials;
        }
        await throttle.GiveBackAsync(reservation, ct);
        var verified = account.PasswordHash;
        var password = request.Password!;

        return await completion.CompleteAsync(new SignInStep(account.Id, SignInMethod.Password, request.RememberMe == true, request.UseCookie == true)
        {
            Account = account,
            // Read again after a conflict: upgraded by a racing sign-in (still this password), or
            // changed or reset (then the password checked above is no longer the account's).
            Check = fresh =>
            {
                if (fresh?.PasswordHash is null) return Errors.InvalidCredentials;
                if (fresh.PasswordHash == verified) return null;
                if (!hasher.Verify(password, fresh.PasswordHash)) return Errors.InvalidCredentials;
                verified = fresh.PasswordHash;
                return null;
            },
            // An old or imported hash is replaced at sign-in, with the ETag (also when MFA is on:
            // the password is known only now, not at the second step).
            Change = current =>
            {
                if (!hasher.NeedsRehash(current.PasswordHash!)) return false;
                current.PasswordHash = hasher.Hash(password);
                return true;
            },
        }, client, ct);
    }

    /// <summary>The identifier's partition in the identifiers table (any other text: as if an email).</summary>
    private static string Partition(string identifier) =>
        AccountNumber.Parse(identifier) is { } number ? IdentifierIndex.NumberKey(AccountNumber.Hash(number))
        : IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(identifier));

    /// <summary>
    /// Confirms a failed login's reserved try (the try that reaches the limit starts the block), and audits it beside the count: for an identifier that belongs to an
    /// account the real event, for one that does not the same two inserts into a placeholder row
    /// (AuditLog.DecoyAsync), so both take the same calls and the same time; likewise for the
    /// failure that starts a block.
    /// </summary>
    private async Task FailedAsync(ThrottleReservation reservation, Account? account, ClientInfo client, CancellationToken ct)
    {
        var count = throttle.ConfirmFailureAsync(reservation, ct);
        await Task.WhenAll(count, account is null ? audit.DecoyAsync()
            : audit.RecordAsync(AuditEvent.LoginFailed, account.Id, client.IpAddress, AuditLog.Detail(("reason", Errors.InvalidCredentials.Code))));
        if (!await count) return;
        if (account is null) await audit.DecoyAsync();
        else await audit.RecordAsync(AuditEvent.LoginThrottled, account.Id, client.IpAddress,
            AuditLog.Detail(("failures", lockout.MaxFailedAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    /// <summary>
    /// The verified owner of the address (or the account number's owner); failing that, the newest
    /// unverified claim on the address (so its owner learns to verify). Only one candidate, so only
    /// one hash, whatever exists; and exactly one account read whatever exists: when there is no
    /// candidate, a read of a row that does not exist, as long as a real one.
    /// </summary>
    private async Task<Account?> FindAsync(string identifier, IdentifierRow? owner, IdentifierRow? claim, CancellationToken ct)
    {
        var number = AccountNumber.Parse(identifier);
        var hash = number is null && EmailAddress.IsValid(identifier) ? EmailAddress.Hash(identifier) : null;
        // The owner row names the owner; its account row confirms it still holds the identifier
        // (an email change or revert may have moved it). Otherwise the newest claim is the candidate.
        var candidate = owner?.AccountId ?? (hash is null ? null : claim?.AccountId);
        var account = await accounts.GetOrNoneAsync(candidate, ct);
        if (account is null) return null;
        if (number is not null) return account.AccountNumber == number ? account : null;
        if (hash is null) return null;
        if (owner is not null)
        {
            if (account is { EmailVerified: true, Email: not null } && EmailAddress.Hash(account.Email) == hash) return account;
            // A stale owner row (rare): fall back to the claim, with one more read.
            if (claim is null) return null;
            account = await accounts.GetAsync(claim.AccountId, ct);
            if (account is null) return null;
        }
        return account is { EmailVerified: false, Email: not null } && EmailAddress.Hash(account.Email) == hash ? account : null;
    }
}
