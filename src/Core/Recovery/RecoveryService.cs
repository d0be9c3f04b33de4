using System.Security.Cryptography;
using System.Text;
using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Recovery;

public sealed record ResetRequest(string? Token, string? NewPassword);
public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

/// <summary>
/// Password recovery and change (states as in docs/flows/recovery.md). <c>requested</c>: forgot
/// answers the same whether or not the address has an account; only its verified owner gets a
/// <c>link emailed</c>, and the grant id is stored on the account so a newer request makes the
/// older link <c>superseded</c>. <c>reset</c>: the new password is checked before the link is
/// consumed (a weak password does not burn it); then the hash, the cleared grant and the notice
/// commit in one transaction, and every session ends.
/// </summary>
public sealed class RecoveryService(AccountsTable accounts, TokensTable tokenRows, EmailOwners owners, OneTimeTokens tokens, GrantMail grants, Outbox outbox,
    RateLimiter limiter, PasswordHasher hasher, SessionService sessions, AccountsOptions options, SecurityOptions security,
    LoginThrottle throttle, AuditLog audit, TimeProvider time, ILogger<RecoveryService> log)
{
    public const string Accepted = "accepted";

    private GrantKind ResetGrant => new(TokenPurpose.Reset, EmailTemplates.PasswordReset, AuditEvent.PasswordResetRequested, (account, id) =>
    {
        account.ResetGrant = id;
        account.UpdatedAt = time.GetUtcNow();
    });

    public async Task<Result<string>> ForgotAsync(string? email, ClientInfo client, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(email)) return Errors.Validation("email", "An email address is required.");
        if (!EmailAddress.IsValid(email)) return Errors.Validation("email", "This is not a valid email address.");
        // Per IP (RateLimits__Forgot, before the request gets here): told openly, it says nothing
        // about any address. Per address: silent, still 202.
        var subject = EmailAddress.Hash(email);
        var perAddress = await limiter.HitAsync("forgot", subject, security.ResendLimit, security.ResendWindow, ct);
        if (!perAddress.Allowed) return Accepted;

        // Any account that verified the address may reset: a locked one too (it still cannot log in).
        var account = await owners.OwnerAsync(subject, ct);
        if (account is null)
        {
            await ComparableWorkAsync(ct);
            return Accepted;
        }

        await grants.SendAsync(account, subject, ResetGrant, options.PasswordResetTokenLifetime, client.IpAddress, ct);
        return Accepted;
    }

    /// <summary>
    /// For an address without an account: about the storage round trips of the real path (a token
    /// derivation, reads where the token and outbox writes would be), so timing says little.
    /// </summary>
    private async Task ComparableWorkAsync(CancellationToken ct)
    {
        var id = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        await tokens.MaterializeAsync(id);
        await tokenRows.GetLinkAsync(id, ct);
        await tokenRows.GetCodeAsync(TokenPurpose.Reset, id, id, ct);
        await accounts.GetAsync(Account.NewId(), ct);
        await audit.PeekAsync(id, ct); // where the audit event would go
    }

    public async Task<Result<bool>> ResetAsync(ResetRequest request, ClientInfo client, CancellationToken ct = default)
    {
        if (request.Token is null) return Errors.Validation("token", "A token is required.");
        if (request.NewPassword is null) return Errors.Validation("newPassword", "A new password is required.");
        // Validate before consuming: a refused password leaves the link usable.
        if (NewPasswordError(request.NewPassword, await PeekEmailAsync(request.Token, ct)) is { } weak) return weak;

        var link = await tokens.RedeemLinkAsync(TokenPurpose.Reset, request.Token, ct);
        if (!link.Ok) return link.Error!;
        var grant = link.Value!.PartitionKey;
        var passwordHash = hasher.Hash(request.NewPassword);

        var superseded = false;
        await Optimistic.RetryAsync(async _ =>
        {
            var account = await accounts.GetAsync(link.Value.AccountId, ct);
            // Superseded by a newer request (or the account is gone).
            if (account is null || account.ResetGrant != grant) return superseded = true;
            account.PasswordHash = passwordHash;
            account.ResetGrant = null;
            account.SessionEpoch++; // every session ends, also one a racing sign-in commits later
            account.UpdatedAt = time.GetUtcNow();
            return await CommitWithNoticeAsync(account, null, ct);
        }, "Account kept changing during password reset.", ct);
        if (superseded) return Errors.InvalidToken;
        await sessions.EndAllAsync(link.Value.AccountId, ct);
        log.LogInformation("Account {AccountId} reset its password; every session ended", link.Value.AccountId);
        await audit.RecordAsync(AuditEvent.PasswordReset, link.Value.AccountId, client.IpAddress);
        return true;
    }

    /// <summary>
    /// A signed-in person changes their password. The current one is required, also for
    /// passwordless accounts (which have none, so they get wrong_password): those set a first
    /// password through forgot/reset, which proves they still hold the mailbox.
    /// </summary>
    public async Task<Result<bool>> ChangeAsync(Caller caller, ChangePasswordRequest request, ClientInfo client, CancellationToken ct = default)
    {
        if (request.CurrentPassword is null) return Errors.Validation("currentPassword", "The current password is required.");
        if (request.NewPassword is null) return Errors.Validation("newPassword", "A new password is required.");
        var account = await accounts.GetAsync(caller.AccountId, ct);
        if (account is null) return Errors.Unauthorized;
        if (NewPasswordError(request.NewPassword, account.Email) is { } weak) return weak;

        // A stolen access token must not become a password oracle: wrong guesses are throttled.
        // It counts against the account's login throttle like a login, reserved before the check (issue 23).
        var verified = account.PasswordHash;
        if (await throttle.CheckCurrentPasswordAsync(account, request.CurrentPassword, hasher, ct) is { } refused) return refused;

        var passwordHash = hasher.Hash(request.NewPassword);
        Error? stopped = null;
        await Optimistic.RetryAsync(async attempt =>
        {
            if (attempt > 0)
            {
                var fresh = await accounts.GetAsync(caller.AccountId, ct);
                // Gone, or the caller's own session ended meanwhile (signed out elsewhere): nothing to keep.
                if (fresh is null || await accounts.GetSessionAsync(caller.AccountId, caller.SessionId, ct) is null)
                    stopped = Errors.Unauthorized;
                // Changed by someone else meanwhile: the current password we checked is no longer current.
                else if (fresh.PasswordHash != verified) stopped = Errors.WrongPassword;
                if (stopped is not null) return true;
                account = fresh!;
            }
            account.PasswordHash = passwordHash;
            account.SessionEpoch++; // the other sessions end, also one a racing sign-in commits later
            account.UpdatedAt = time.GetUtcNow();
            return await CommitWithNoticeAsync(account, caller.SessionId, ct);
        }, "Account kept changing during password change.", ct);
        if (stopped is not null) return stopped;
        await sessions.EndAllAsync(caller.AccountId, ct, keepSessionId: caller.SessionId);
        log.LogInformation("Account {AccountId} changed its password; other sessions ended", caller.AccountId);
        await audit.RecordAsync(AuditEvent.PasswordChanged, caller.AccountId, client.IpAddress);
        return true;
    }

    /// <summary>
    /// The account update and the "password changed" notice in one transaction, with the ETag read;
    /// <paramref name="keepSessionId"/>'s session moves to the account's new SessionEpoch in it.
    /// </summary>
    private async Task<bool> CommitWithNoticeAsync(Account account, string? keepSessionId, CancellationToken ct)
    {
        var change = AccountChange.Of(account);
        if (keepSessionId is not null) change.KeepSession(keepSessionId, account.SessionEpoch);
        if (account is { EmailVerified: true, Email: not null })
            change.Send(outbox.Create(account.Id, EmailTemplates.PasswordChanged, account.Email, account.FullName,
                new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "" }));
        return await outbox.CommitAsync(change, ct);
    }

    /// <summary>
    /// The email of the account a reset token belongs to, without consuming it, so the policy's
    /// "not the email" rule can be checked first. RedeemLinkAsync consumes it after.
    /// </summary>
    private async Task<string?> PeekEmailAsync(string token, CancellationToken ct)
    {
        if (await tokens.PeekLinkAsync(TokenPurpose.Reset, token, ct) is not { } row) return null;
        var account = await accounts.GetAsync(row.AccountId, ct);
        return account?.Email;
    }

    /// <summary>The policy's answer, naming the field this API calls it by.</summary>
    private static Error? NewPasswordError(string password, string? email) =>
        PasswordPolicy.Check(password, email) is { } error
            ? error with { Errors = error.Errors?.ToDictionary(e => e.Key == "password" ? "newPassword" : e.Key, e => e.Value) }
            : null;

}
