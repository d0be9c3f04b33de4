using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.EmailChange;

/// <param name="Code">Passwordless accounts only: the code emailed to the current address by a first call without it.</param>
public sealed record ChangeEmailRequest(string? CurrentPassword, string? NewEmail, string? Code);
public sealed record RevertRequest(string? Token);

/// <summary>
/// Changing the email address (states as in docs/flows/email-change.md). <c>requested</c>: the
/// caller proves it is the account holder (current password, or for a passwordless account a code
/// sent to the current address), then the account gets <c>PendingEmail</c>, a confirmation deadline
/// with its <c>due</c> row, and a verification grant for the new address; the confirmation email and
/// the notice with a revert link to the old address commit in one transaction with it. The address
/// in use does not change until <c>confirmed</c> (VerificationService, as for signup). If another
/// account verified the new address, that address's owner is told instead and nothing changes; the
/// answer is the same. <c>reverted</c>: the old address comes back, every session ends, the password
/// is cleared and a reset link goes to the restored address. Unconfirmed by the deadline: the sweep
/// <c>locked</c> the account.
/// </summary>
public sealed class EmailChangeService(TokensTable tokenRows, AccountsTable accounts, DueTable due, IdentifierIndex identifiers, EmailOwners owners,
    OneTimeTokens tokens, Outbox outbox, RateLimiter limiter, PasswordHasher hasher,
    SessionService sessions, AccountsOptions options, SecurityOptions security, LoginThrottle throttle, AuditLog audit, TimeProvider time,
    ILogger<EmailChangeService> log, AccountDeletion deletion)
{
    public const string ConfirmationSent = "confirmation_sent";
    public const string CodeSent = "code_sent";
    public const string EmailRestored = "email_restored";
    public const string AccountLocked = "account_locked";


    public async Task<Result<string>> RequestAsync(Caller caller, ChangeEmailRequest request, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(request.NewEmail)) return Errors.Validation("newEmail", "A new email address is required.");
        if (!EmailAddress.IsValid(request.NewEmail)) return Errors.Validation("newEmail", "This is not a valid email address.");
        var account = await accounts.GetAsync(caller.AccountId, ct);
        if (account is null) return Errors.Unauthorized;
        var newEmail = request.NewEmail.Trim();
        var newHash = EmailAddress.Hash(newEmail);
        if (account.Email is not null && EmailAddress.Hash(account.Email) == newHash)
            return Errors.Validation("newEmail", "This is already the account's email address.");
        // A signed-in account has a verified address or none (account number); anything else is not ours to change.
        if (account.Email is not null && !account.EmailVerified) return Errors.InvalidState;

        var proof = account.PasswordHash is not null
            ? await CheckPasswordAsync(account, request.CurrentPassword, ct)
            : await CheckCodeAsync(account, newEmail, newHash, request.Code, ct);
        if (!proof.Ok) return proof.Error!;
        if (proof.Value == CodeSent) return CodeSent;

        // Openly limited per account (the caller is signed in): it also bounds how fast a session
        // could probe which addresses are taken (see docs/security.md).
        var limit = await limiter.HitAsync("email-change", account.Id, security.ResendLimit, security.ResendWindow, ct);
        if (!limit.Allowed) return Errors.TooManyRequests(limit.RetryAfter);

        if (await owners.OwnerAsync(newHash, ct) is { } owner && owner.Id != account.Id)
        {
            var notice = outbox.Create(owner.Id, EmailTemplates.EmailChangeTaken, owner.Email!, owner.FullName,
                new Dictionary<string, string> { ["firstName"] = owner.FirstName ?? "" });
            await outbox.CommitAsync(notice, ct);
            log.LogInformation("Account {AccountId} asked for an address another account owns; its owner was told", account.Id);
            await audit.RecordAsync(AuditEvent.EmailChangeRequested, account.Id, caller.IpAddress, AuditLog.Detail(("taken", "true")));
            return ConfirmationSent;
        }
        var started = await StartAsync(account, newEmail, newHash, ct);
        if (started.Ok) await audit.RecordAsync(AuditEvent.EmailChangeRequested, account.Id, caller.IpAddress, null);
        return started;
    }

    /// <summary>
    /// Order: grants and the deadline marker first (orphans point at nothing and expire, or the sweep
    /// drops them), then one transaction: the account (ETag), the revert row and both emails; then the
    /// queue messages. The address in use stays as it is.
    /// </summary>
    private async Task<Result<string>> StartAsync(Account account, string newEmail, string newHash, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var deadline = now + options.EmailConfirmationDeadline;
        var confirm = await tokens.IssueAsync(TokenPurpose.Verify, account.Id, newHash, options.VerificationTokenLifetime, ct);
        Grant? revert = null;
        if (account is { EmailVerified: true, Email: not null })
        {
            var oldHash = EmailAddress.Hash(account.Email);
            revert = await tokens.IssueAsync(TokenPurpose.Revert, account.Id, oldHash, options.EmailRevertLinkLifetime, ct);
            // Only the link is sent; the code issued with it would be a row nobody can use.
            await tokenRows.RemoveCodeAsync(TokenPurpose.Revert, oldHash, account.Id, ct);
        }
        var deadlineRow = DueRow.For(DueRow.Deadline, account.Id, deadline);
        await due.SetAsync(deadlineRow, ct);

        DateTimeOffset? replaced = null;
        string? replacedPending = null;
        Result<string>? stopped = null;
        await Optimistic.RetryAsync(async _ =>
        {
            replaced = account.ConfirmationDeadline;
            replacedPending = account.PendingEmail;
            var hadAddress = account is { EmailVerified: true, Email: not null };
            var oldEmail = account.Email;
            account.PendingEmail = newEmail;
            account.ConfirmationDeadline = deadline;
            account.VerificationGrant = confirm.TokenId;
            account.EmailChangeGrant = null;
            account.EmailChangeTarget = null;
            account.UpdatedAt = now;
            var fields = new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "", ["newEmail"] = newEmail };
            var change = AccountChange.Of(account)
                .Send(outbox.Create(account.Id, EmailTemplates.ConfirmEmailChange, newEmail, account.FullName, fields, confirm));
            if (revert is not null && hadAddress)
            {
                var notice = outbox.Create(account.Id, EmailTemplates.EmailChangeRequested, oldEmail!, account.FullName, fields, revert);
                notice.CodeNonce = null;
                change.Send(notice);
                change.Add(new RevertRow
                {
                    PartitionKey = account.Id,
                    RowKey = RevertRow.Key(revert.TokenId),
                    OldEmail = oldEmail!,
                    Epoch = account.RevertEpoch,
                    CreatedAt = now,
                    ExpiresAt = now + options.EmailRevertLinkLifetime,
                });
            }
            if (await outbox.CommitAsync(change, ct)) return true;
            var fresh = await accounts.GetAsync(account.Id, ct);
            if (fresh is null)
            {
                // Deleted meanwhile: what this request wrote first (grants, deadline marker) must not outlive it.
                await deletion.RemoveLeftoversAsync(account.Id, [deadlineRow], ct);
                stopped = Errors.Unauthorized;
                return true;
            }
            // The address changed meanwhile (a confirmation or a revert): this request no longer applies as checked.
            if (fresh.Email != account.Email || fresh.EmailVerified != hadAddress)
            {
                if (fresh.ConfirmationDeadline != deadline) await due.RemoveAsync(deadlineRow, ct);
                stopped = Errors.InvalidState;
                return true;
            }
            account = fresh;
            return false;
        }, "Account kept changing during an email change request.", ct);
        if (stopped is { } stop) return stop;
        // The code of the address this request replaced is dead (the grant in force is ours), and
        // deleting the account could not find it by the new PendingEmail: it goes now.
        if (replacedPending is not null && EmailAddress.Hash(replacedPending) != newHash)
            await tokens.RemoveCodesAsync(TokenPurpose.Verify, EmailAddress.Hash(replacedPending), account.Id, ct);
        // A request that replaces an earlier pending one moves the deadline: the old marker goes.
        if (replaced is { } earlier && DueRow.Partition(DueRow.Deadline, earlier, account.Id) != DueRow.Partition(DueRow.Deadline, deadline, account.Id))
            await due.RemoveAsync(DueRow.Deadline, earlier, account.Id, ct);
        await PruneRevertRowsAsync(account.Id, now, all: false, ct);
        log.LogInformation("Account {AccountId} asked to change its email to {NewEmail}", account.Id, EmailAddress.Mask(newEmail));
        return ConfirmationSent;
    }

    private async Task<Result<string>> CheckPasswordAsync(Account account, string? currentPassword, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(currentPassword)) return Errors.Validation("currentPassword", "The current password is required.");
        // A stolen access token must not become a password oracle: wrong guesses are throttled per account.
        // Counted against the account's login throttle, reserved before the check (issue 23).
        if (await throttle.CheckCurrentPasswordAsync(account, currentPassword, hasher, ct) is { } refused) return refused;
        return "ok";
    }

    /// <summary>
    /// A passwordless account proves it still holds its mailbox instead: without a code, one is sent
    /// to the current address, bound to this new address (EmailChangeTarget) and living as long as a
    /// sign-in link; with a code, it must be that one (single use, 5 wrong tries, as every code).
    /// </summary>
    private async Task<Result<string>> CheckCodeAsync(Account account, string newEmail, string newHash, string? code, CancellationToken ct)
    {
        if (account.Email is null) return Errors.InvalidState;
        var subject = EmailAddress.Hash(account.Email);
        if (code is null)
        {
            var limit = await limiter.HitAsync("email-change-code", account.Id, security.ResendLimit, security.ResendWindow, ct);
            if (!limit.Allowed) return Errors.TooManyRequests(limit.RetryAfter);
            var grant = await tokens.IssueAsync(TokenPurpose.EmailChange, account.Id, subject, options.MagicLinkLifetime, ct);
            Result<string> sent = default;
            await Optimistic.RetryAsync(async _ =>
            {
                account.EmailChangeGrant = grant.TokenId;
                account.EmailChangeTarget = newHash;
                account.UpdatedAt = time.GetUtcNow();
                var mail = outbox.Create(account.Id, EmailTemplates.EmailChangeCode, account.Email, account.FullName,
                    new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "", ["newEmail"] = newEmail }, grant);
                if (await outbox.CommitWithAccountAsync(account, mail, ct))
                {
                    sent = CodeSent;
                    return true;
                }
                var fresh = await accounts.GetAsync(account.Id, ct);
                if (fresh is null)
                {
                    await deletion.RemoveLeftoversAsync(account.Id, [], ct);
                    sent = Errors.Unauthorized;
                    return true;
                }
                if (fresh.Email != account.Email)
                {
                    sent = Errors.InvalidState;
                    return true;
                }
                account = fresh;
                return false;
            }, "Account kept changing while sending an email change code.", ct);
            return sent;
        }
        // The code was sent for one new address; checked before redeeming, so a mismatch burns nothing.
        if (account.EmailChangeTarget != newHash || account.EmailChangeGrant is null) return Errors.InvalidToken;
        var redeemed = await tokens.RedeemCodeAsync(TokenPurpose.EmailChange, subject, code, ct);
        if (!redeemed.Ok) return redeemed.Error!;
        if (redeemed.Value!.AccountId != account.Id || redeemed.Value.Grant != account.EmailChangeGrant) return Errors.InvalidToken;
        return "ok";
    }

    /// <summary>
    /// The revert link ("this wasn't me"). Consumed first (single use); then the account must still
    /// be at the epoch the link was issued in (a revert makes every earlier link dead). The old
    /// address's owner row is taken back (insert = lock) before the account changes; the address it
    /// had moved to is released after. If another account verified the old address meanwhile, it
    /// cannot come back: the account is locked instead (docs/flows/email-change.md says why).
    /// </summary>
    public async Task<Result<string>> RevertAsync(string? token, string? ip = null, CancellationToken ct = default)
    {
        if (token is null) return Errors.Validation("token", "A token is required.");
        var link = await tokens.RedeemLinkAsync(TokenPurpose.Revert, token, ct);
        if (!link.Ok) return link.Error!;
        var accountId = link.Value!.AccountId;
        var row = await accounts.GetRowAsync<RevertRow>(accountId, RevertRow.Key(link.Value.PartitionKey), ct);
        var read = await accounts.GetAsync(accountId, ct);
        if (row is null || read is null || row.Epoch != read.RevertEpoch) return Errors.InvalidToken;
        var account = read;

        var oldHash = EmailAddress.Hash(row.OldEmail);
        var claimed = false;
        Grant? reset = null;
        string? released = null, pending = null;
        DateTimeOffset? deadline = null;
        var regained = false;
        var dead = false;
        await Optimistic.RetryAsync(async _ =>
        {
            if (row.Epoch != account.RevertEpoch) return dead = true; // another revert won
            // Unconfirmed change: the old address never left. Otherwise its owner row is taken back first.
            var stillThere = account is { EmailVerified: true, Email: not null } && EmailAddress.Hash(account.Email) == oldHash;
            if (!stillThere && !claimed) claimed = await owners.ClaimAsync(accountId, oldHash, ct);
            regained = stillThere || claimed;
            if (regained) reset ??= await tokens.IssueAsync(TokenPurpose.Reset, accountId, oldHash, options.PasswordResetTokenLifetime, ct);
            released = account is { EmailVerified: true, Email: not null } && EmailAddress.Hash(account.Email) != oldHash
                ? EmailAddress.Hash(account.Email) : null;
            pending = account.PendingEmail;
            deadline = account.ConfirmationDeadline;
            var now = time.GetUtcNow();
            account.RevertEpoch++;
            account.SessionEpoch++; // every session ends, also one a racing sign-in commits later
            account.Email = row.OldEmail;
            account.PendingEmail = null;
            account.VerificationGrant = null;
            account.ConfirmationDeadline = null;
            account.MagicGrant = null;
            account.EmailChangeGrant = null;
            account.EmailChangeTarget = null;
            // Whoever changed the address may know the password: it is cleared, so password login
            // refuses until a reset sets a new one.
            account.PasswordHash = null;
            account.UpdatedAt = now;
            var fields = new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "" };
            OutboxRow mail;
            if (regained)
            {
                account.EmailVerified = true;
                account.ResetGrant = reset!.TokenId;
                // The unconfirmed change that locked it is undone; an admin's lock stays.
                if (account.Status == AccountStatus.Locked && account.LockReason == LockReasons.UnconfirmedEmailChange)
                {
                    account.Status = account.StatusBeforeLock ?? AccountStatus.Active;
                    account.LockReason = null;
                    account.StatusBeforeLock = null;
                }
                mail = outbox.Create(accountId, EmailTemplates.EmailReverted, row.OldEmail, account.FullName, fields, reset);
                mail.CodeNonce = null;
            }
            else
            {
                account.EmailVerified = false;
                account.ResetGrant = null;
                if (account.Status != AccountStatus.Locked)
                {
                    account.StatusBeforeLock = account.Status;
                    account.Status = AccountStatus.Locked;
                }
                account.LockReason = LockReasons.RevertConflict;
                mail = outbox.Create(accountId, EmailTemplates.EmailRevertConflict, row.OldEmail, account.FullName, fields);
            }
            if (await outbox.CommitWithAccountAsync(account, mail, ct)) return true;
            var fresh = await accounts.GetAsync(accountId, ct);
            if (fresh is null) return dead = true;
            account = fresh;
            return false;
        }, "Account kept changing during an email revert.", ct);
        if (dead) return Errors.InvalidToken;

        // The epoch bump above already killed every session; this removes the rows.
        await sessions.EndAllAsync(accountId, ct);
        if (released is not null) await identifiers.ReleaseEmailOwnerAsync(released, accountId, ct);
        if (pending is not null)
            await tokenRows.RemoveCodeAsync(TokenPurpose.Verify, EmailAddress.Hash(pending), accountId, ct);
        if (deadline is { } d) await due.RemoveAsync(DueRow.Deadline, d, accountId, ct);
        await PruneRevertRowsAsync(accountId, time.GetUtcNow(), all: true, ct);
        log.LogInformation("Account {AccountId} reverted an email change; {Outcome}", accountId, regained ? "address restored" : "locked (address taken)");
        await audit.RecordAsync(AuditEvent.EmailReverted, accountId, ip, AuditLog.Detail(("outcome", regained ? EmailRestored : AccountLocked)));
        return regained ? EmailRestored : AccountLocked;
    }

    /// <summary>Drops revert rows that have expired (or, after a revert, all of them: the epoch already made them dead).</summary>
    private async Task PruneRevertRowsAsync(string accountId, DateTimeOffset now, bool all, CancellationToken ct)
    {
        foreach (var r in await accounts.ListAsync<RevertRow>(accountId, RevertRow.Prefix, ct))
            if (all || r.ExpiresAt <= now) await accounts.RemoveAsync(accountId, r.RowKey, ct);
    }
}
