using System.Text;
using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Manage;

public sealed record AccountPage(IReadOnlyList<ManagedAccountView> Items, string? NextCursor);
public sealed record ListQuery(string? Status, string? Q, string? Cursor, string? Limit);
public sealed record ManageUpdate(string? Role = null, string? FirstName = null, string? LastName = null);

/// <summary>
/// The admin side of issue 3: list and read accounts, change role and names, approve, reject,
/// lock, unlock, delete, create invites. Every account change re-reads the row and writes it
/// with the ETag it read (retried a few times on a conflict), and an email it causes commits in
/// the same transaction (the outbox row lives in the account's partition).
/// </summary>
public sealed class ManageService(AccountsTable accounts, DueTable due, IdentifierIndex identifiers, OneTimeTokens tokens, Outbox outbox,
    SessionService sessions, InviteService invites, AccountDeletion deletion, AccountsOptions options, AuditLog audit, TimeProvider time, ILogger<ManageService> log)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 100;
    public const int ReasonLength = 500;
    private const int MaxQueryLength = EmailAddress.MaxLength;
    private const int MaxPagesPerRequest = 10;

    private static readonly string[] Statuses =
        [AccountStatus.Unverified, AccountStatus.PendingApproval, AccountStatus.Active, AccountStatus.Locked, AccountStatus.Rejected];

    public async Task<Result<AccountPage>> ListAsync(ListQuery query, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        var status = string.IsNullOrEmpty(query.Status) ? null : query.Status;
        if (status is not null && !Statuses.Contains(status)) errors["status"] = [$"Use one of: {string.Join(", ", Statuses)}."];
        var prefix = string.IsNullOrWhiteSpace(query.Q) ? null : query.Q.Trim().Normalize(NormalizationForm.FormC).ToLowerInvariant();
        if (prefix is { Length: > MaxQueryLength }) errors["q"] = [$"Use at most {MaxQueryLength} characters."];
        var limit = DefaultPageSize;
        if (!string.IsNullOrEmpty(query.Limit) && (!int.TryParse(query.Limit, System.Globalization.NumberStyles.None, null, out limit) || limit is < 1 or > MaxPageSize))
            errors["limit"] = [$"Use a whole number from 1 to {MaxPageSize}."];
        string? continuation = null;
        if (!string.IsNullOrEmpty(query.Cursor) && !TryDecodeCursor(query.Cursor, out continuation))
            errors["cursor"] = ["This cursor is not one this API gave out."];
        if (errors.Count > 0) return Errors.Validation(errors);

        List<ManagedAccountView> items;
        try
        {
            var (rows, next) = await accounts.ListAccountsAsync(status, prefix, continuation, limit, MaxPagesPerRequest, ct);
            items = rows.Select(a => ManagedAccountView.From(a, log)).ToList();
            continuation = next;
        }
        catch (ArgumentException)
        {
            // The client library refuses a continuation token it cannot split into keys.
            return Errors.Validation("cursor", "This cursor is not one this API gave out.");
        }
        return new AccountPage(items, continuation is null ? null : Base64UrlEncoder.Encode(continuation));
    }

    public async Task<Result<ManagedAccountView>> GetAsync(string id, CancellationToken ct = default)
    {
        if (!IsAccountId(id)) return InvalidId;
        var account = await accounts.GetAsync(id, ct);
        return account is null ? Errors.NotFound : ManagedAccountView.From(account, log);
    }

    public async Task<Result<ManagedAccountView>> UpdateAsync(string callerId, string id, ManageUpdate update, ClientInfo client, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        if (update.Role is not null and not Roles.User and not Roles.Admin) errors["role"] = [$"Use \"{Roles.User}\" or \"{Roles.Admin}\"."];
        FieldRules.Check(errors, "firstName", update.FirstName, FieldRules.NameLength);
        FieldRules.Check(errors, "lastName", update.LastName, FieldRules.NameLength);
        if (errors.Count > 0) return Errors.Validation(errors);
        if (update.Role == Roles.User && id == callerId) return Errors.InvalidState; // the last admin could lock everyone out

        string? roleBefore = null;
        var result = await ChangeAsync(id, async (account, now) =>
        {
            roleBefore = account.Role;
            if (update.FirstName is not null) account.FirstName = Clean(update.FirstName);
            if (update.LastName is not null) account.LastName = Clean(update.LastName);
            if (update.Role is not null)
            {
                // Promotion: the index row first, so a crash leaves at worst a row the approval
                // notice skips (it re-reads the role), never an admin who gets no notices.
                if (update.Role == Roles.Admin && account.Role != Roles.Admin) await identifiers.AddAdminAsync(account.Id, now, ct);
                account.Role = update.Role;
            }
            return Change.Silent;
        }, ct);
        if (!result.Ok) return result.Error!;
        var changed = result.Value!;
        if (changed.Role == Roles.User) await identifiers.RemoveAdminAsync(changed.Id, ct);
        if (changed.Role != roleBefore)
            await audit.RecordAsync(AuditEvent.RoleChanged, id, client.IpAddress, AuditLog.Detail(("from", roleBefore), ("to", changed.Role)), callerId);
        var fields = new[] { update.FirstName is null ? null : "firstName", update.LastName is null ? null : "lastName" }.OfType<string>().ToList();
        if (fields.Count > 0)
            await audit.RecordAsync(AuditEvent.ProfileChanged, id, client.IpAddress, AuditLog.Detail(("fields", string.Join(',', fields))), callerId);
        return ManagedAccountView.From(changed);
    }

    public async Task<Result<ManagedAccountView>> ApproveAsync(string callerId, string id, ClientInfo client, CancellationToken ct = default)
    {
        var result = await ChangeAsync(id, (account, _) =>
        {
            if (account.Status != AccountStatus.PendingApproval) return Task.FromResult<Result<Change>>(Errors.InvalidState);
            account.Status = AccountStatus.Active;
            return Task.FromResult<Result<Change>>(Notice(account, VerifiedEmail(account), EmailTemplates.AccountApproved));
        }, ct);
        if (!result.Ok) return result.Error!;
        log.LogInformation("Account {AccountId} approved", id);
        await audit.RecordAsync(AuditEvent.AccountApproved, id, client.IpAddress, actorId: callerId);
        return ManagedAccountView.From(result.Value!);
    }

    public async Task<Result<ManagedAccountView>> RejectAsync(string callerId, string id, string? reason, ClientInfo client, CancellationToken ct = default)
    {
        if (CheckReason(reason) is { } invalid) return invalid;
        var result = await ChangeAsync(id, (account, _) =>
        {
            if (account.Status != AccountStatus.PendingApproval) return Task.FromResult<Result<Change>>(Errors.InvalidState);
            account.Status = AccountStatus.Rejected;
            return Task.FromResult<Result<Change>>(Notice(account, VerifiedEmail(account), EmailTemplates.AccountRejected, ("reason", Clean(reason))));
        }, ct);
        if (!result.Ok) return result.Error!;
        log.LogInformation("Account {AccountId} rejected", id);
        await audit.RecordAsync(AuditEvent.AccountRejected, id, client.IpAddress, AuditLog.Detail(("reason", Clean(reason))), callerId);
        return ManagedAccountView.From(result.Value!);
    }

    public async Task<Result<ManagedAccountView>> LockAsync(string callerId, string id, string? reason, ClientInfo client, CancellationToken ct = default)
    {
        if (CheckReason(reason) is { } invalid) return invalid;
        if (id == callerId) return Errors.InvalidState;
        var result = await ChangeAsync(id, (account, _) =>
        {
            if (account.Status == AccountStatus.Locked) return Task.FromResult<Result<Change>>(Errors.InvalidState);
            account.StatusBeforeLock = account.Status;
            account.Status = AccountStatus.Locked;
            account.SessionEpoch++; // every session ends, also one a racing sign-in commits later
            account.LockReason = Clean(reason) ?? LockReasons.Admin;
            return Task.FromResult<Result<Change>>(Notice(account, account.Email, EmailTemplates.AccountLockedByAdmin, ("reason", Clean(reason))));
        }, ct);
        if (!result.Ok) return result.Error!;
        // The epoch bump already killed every session, also one a racing sign-in commits after
        // this (sign-ins write no ETag on the account); this removes the rows.
        await sessions.EndAllAsync(id, ct);
        log.LogInformation("Account {AccountId} locked by an admin", id);
        await audit.RecordAsync(AuditEvent.AccountLocked, id, client.IpAddress, AuditLog.Detail(("reason", Clean(reason) ?? LockReasons.Admin)), callerId);
        return ManagedAccountView.From(result.Value!);
    }

    /// <summary>
    /// Unlock. An account the sweep locked for an unconfirmed email gets a new deadline and a new
    /// link and code (its email is still unproven); any other goes back to where the lock found it.
    /// </summary>
    public async Task<Result<ManagedAccountView>> UnlockAsync(string callerId, string id, ClientInfo client, CancellationToken ct = default)
    {
        var result = await ChangeAsync(id, async (account, now) =>
        {
            if (account.Status != AccountStatus.Locked) return Errors.InvalidState;
            var sweptFor = account.LockReason is LockReasons.UnconfirmedEmail or LockReasons.UnconfirmedEmailChange
                ? account.PendingEmail ?? account.Email : null;
            var restored = RestoredStatus(account);
            account.LockReason = null;
            account.StatusBeforeLock = null;
            if (sweptFor is not null) return await RenewConfirmationAsync(account, sweptFor, restored, now, ct);
            account.Status = restored;
            return Notice(account, account.Email, EmailTemplates.AccountUnlocked);
        }, ct);
        if (!result.Ok) return result.Error!;
        log.LogInformation("Account {AccountId} unlocked; status {Status}", id, result.Value!.Status);
        await audit.RecordAsync(AuditEvent.AccountUnlocked, id, client.IpAddress, AuditLog.Detail(("status", result.Value!.Status)), callerId);
        return ManagedAccountView.From(result.Value!);
    }

    public async Task<Result<bool>> DeleteAsync(string callerId, string id, ClientInfo client, CancellationToken ct = default)
    {
        if (!IsAccountId(id)) return InvalidId;
        if (id == callerId) return Errors.InvalidState;
        if (!await deletion.DeleteAsync(id, callerId, client.IpAddress, ct)) return Errors.NotFound;
        log.LogInformation("Account {AccountId} deleted by an admin", id);
        return true;
    }

    public async Task<Result<Invite>> CreateInviteAsync(string? email, string callerId, ClientInfo client, CancellationToken ct = default)
    {
        var invite = await invites.CreateAsync(string.IsNullOrWhiteSpace(email) ? null : email, ct);
        // Not about an account: found in the day's list and in the admin's own.
        if (invite.Ok)
            await audit.RecordAsync(AuditEvent.InviteCreated, null, client.IpAddress, AuditLog.Detail(("boundToEmail", invite.Value!.Email is null ? "no" : "yes")), callerId);
        return invite;
    }

    /// <summary>What a change did beyond the account row: at most one email, committed with it.</summary>
    private sealed record Change(OutboxRow? Mail)
    {
        public static readonly Change Silent = new((OutboxRow?)null);
    }

    /// <summary>Read, apply, write with the ETag read; on a conflict, read and apply again.</summary>
    private async Task<Result<Account>> ChangeAsync(string id, Func<Account, DateTimeOffset, Task<Result<Change>>> apply, CancellationToken ct)
    {
        if (!IsAccountId(id)) return InvalidId;
        Result<Account> result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var account = await accounts.GetAsync(id, ct);
            if (account is null)
            {
                result = Errors.NotFound;
                return true;
            }
            var now = time.GetUtcNow();
            var change = await apply(account, now);
            if (!change.Ok)
            {
                result = change.Error!;
                return true;
            }
            account.UpdatedAt = now;
            var committed = change.Value!.Mail is { } mail
                ? await outbox.CommitWithAccountAsync(account, mail, ct)
                : await accounts.TryReplaceAsync(account, ct);
            if (committed) result = account;
            return committed;
        }, $"Account {id} kept changing; gave up after {Optimistic.Attempts} attempts.", ct);
        return result;
    }

    private Change Notice(Account account, string? to, string template, params (string Key, string? Value)[] fields)
    {
        if (to is null) return Change.Silent; // an account without email (account number) hears nothing
        var model = new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "" };
        foreach (var (key, value) in fields) model[key] = value ?? "";
        return new Change(outbox.Create(account.Id, template, to, account.FullName, model));
    }

    /// <summary>
    /// The sweep's lock, undone: a new deadline (its marker written before the account, as at
    /// signup) and a new grant, whose link and code go out with the account change.
    /// </summary>
    private async Task<Result<Change>> RenewConfirmationAsync(Account account, string email, string status, DateTimeOffset now, CancellationToken ct)
    {
        var emailHash = EmailAddress.Hash(email);
        var deadline = now + options.EmailConfirmationDeadline;
        await due.SetAsync(DueRow.For(DueRow.Deadline, account.Id, deadline), ct);
        var grant = await tokens.IssueAsync(TokenPurpose.Verify, account.Id, emailHash, options.VerificationTokenLifetime, ct);
        // An email change (PendingEmail set) is confirmed the same way, with its own wording; it has no claim row.
        var change = account.PendingEmail is not null;
        // Resend finds unverified accounts by their claim; the claim may have been pruned meanwhile.
        if (!change) await identifiers.AddClaimAsync(emailHash, account.Id, now, ct);
        account.Status = status;
        account.ConfirmationDeadline = deadline;
        account.VerificationGrant = grant.TokenId;
        return new Change(outbox.Create(account.Id, change ? EmailTemplates.ConfirmEmailChange : EmailTemplates.VerifyEmail, email,
            account.FullName, new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "" }, grant));
    }

    /// <summary>
    /// Where an unlock returns an account: the status an admin's lock recorded, else (a sweep lock)
    /// <c>unverified</c> for an email never confirmed, and <c>active</c> for an unconfirmed email
    /// change on an account that had been in use.
    /// </summary>
    private static string RestoredStatus(Account account)
    {
        if (account.StatusBeforeLock is { } before && before != AccountStatus.Locked && Statuses.Contains(before)) return before;
        return account.Email is not null && !account.EmailVerified ? AccountStatus.Unverified : AccountStatus.Active;
    }

    // The cursor is the table's continuation token, base64url-wrapped so clients treat it as opaque.
    private static bool TryDecodeCursor(string cursor, out string? continuation)
    {
        continuation = null;
        if (cursor.Length > 2048 || !cursor.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        try
        {
            var text = new UTF8Encoding(false, true).GetString(Base64UrlEncoder.DecodeBytes(cursor));
            if (text.Length == 0 || text.Any(char.IsControl) || text.Split(' ').Length > 2) return false;
            continuation = text;
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return false;
        }
    }

    private static Error? CheckReason(string? reason)
    {
        var errors = new Dictionary<string, string[]>();
        FieldRules.Check(errors, "reason", reason, ReasonLength, multiline: true);
        return errors.Count > 0 ? Errors.Validation(errors) : null;
    }

    private static string? VerifiedEmail(Account a) => a.EmailVerified ? a.Email : null;

    private static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static readonly Error InvalidId = Errors.Validation("id", "An account id is 32 lowercase hexadecimal characters.");

    public static bool IsAccountId(string? id) => id is { Length: 32 } && id.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
}
