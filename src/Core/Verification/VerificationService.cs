using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Verification;

public sealed record VerifyRequest(string? Token, string? Email, string? Code);
public sealed record VerifyResult(string Status, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] SessionView? Session = null);

/// <summary>
/// Email verification by link or code. The token is consumed first; then the address's owner
/// row is inserted (the insert is the lock: first to verify wins); then the account is marked
/// verified with its ETag. A crash between the two writes leaves an owner row pointing at an
/// account that is not verified: a later attempt by that account finishes the job, and a
/// different account takes the row over once it is older than <see cref="EmailOwners.StaleOwnerAge"/>.
/// </summary>
public sealed class VerificationService(TokensTable tokenRows, AccountsTable accounts, DueTable due, IdentifierIndex identifiers, OneTimeTokens tokens,
    Outbox outbox, RateLimiter limiter, AdminNotices adminNotices, EmailOwners owners, SignInCompletion completion, AccountsOptions options,
    SecurityOptions security, AuditLog audit, TimeProvider time, ILogger<VerificationService> log)
{
    private const int MaxClaimsResent = 3;

    public async Task<Result<VerifyResult>> VerifyAsync(VerifyRequest request, ClientInfo client, CancellationToken ct = default)
    {
        var redeemed = await tokens.RedeemAsync(TokenPurpose.Verify, request.Token, request.Email, request.Code, ct);
        if (!redeemed.Ok) return redeemed.Error!;
        var (accountId, grant, subject) = redeemed.Value!;
        return await CompleteAsync(accountId, grant, subject, client, ct);
    }

    private async Task<Result<VerifyResult>> CompleteAsync(string accountId, string grant, string subject, ClientInfo client, CancellationToken ct)
    {
        var account = await accounts.GetAsync(accountId, ct);
        if (account is null || account.VerificationGrant != grant) return Errors.InvalidToken;
        var email = account.PendingEmail ?? account.Email;
        if (email is null || EmailAddress.Hash(email) != subject) return Errors.InvalidToken;

        if (!await owners.ClaimAsync(account.Id, subject, ct))
        {
            await DropClaimAsync(account, grant, subject, ct);
            return Errors.EmailTaken;
        }

        DateTimeOffset? metDeadline = null;
        string? released = null;
        var lost = false;
        await Optimistic.RetryAsync(async _ =>
        {
            var now = time.GetUtcNow();
            var wasSignup = account.Status == AccountStatus.Unverified;
            metDeadline = account.ConfirmationDeadline;
            // An email change: the address verified so far is given up once the new one is in place.
            released = account is { EmailVerified: true, Email: not null } && EmailAddress.Hash(account.Email) != subject
                ? EmailAddress.Hash(account.Email) : null;
            account.Email = email;
            account.PendingEmail = null;
            account.EmailVerified = true;
            account.VerificationGrant = null;
            account.ConfirmationDeadline = null;
            account.UpdatedAt = now;
            if (wasSignup)
            {
                if (options.IsBootstrapAdmin(EmailAddress.Normalize(email)))
                {
                    account.Role = Roles.Admin;
                    account.Status = AccountStatus.Active;
                }
                else
                {
                    account.Status = options.RequireAdminApproval ? AccountStatus.PendingApproval : AccountStatus.Active;
                }
            }
            if (await accounts.TryReplaceAsync(account, ct)) return true;
            var fresh = await accounts.GetAsync(accountId, ct);
            // Someone else completed this grant (the link and the code of one email, raced).
            if (fresh is null || fresh.VerificationGrant != grant) return lost = true;
            account = fresh;
            return false;
        }, "Account kept changing during verification.", ct);
        if (lost) return Errors.InvalidToken;
        await identifiers.RemoveClaimAsync(subject, account.Id, ct);
        // After the account update: a crash before this leaves an owner row whose account has moved
        // on, which EmailOwners ignores and takes over once stale.
        if (released is not null) await identifiers.ReleaseEmailOwnerAsync(released, account.Id, ct);
        // The deadline was met: its sweep marker is no longer needed (the sweep would drop it anyway).
        if (metDeadline is { } deadline) await due.RemoveAsync(DueRow.Deadline, deadline, account.Id, ct);
        log.LogInformation("Account {AccountId} verified its email; status {Status}", account.Id, account.Status);
        await audit.RecordAsync(AuditEvent.EmailVerified, account.Id, client.IpAddress, AuditLog.Detail(("status", account.Status)));
        if (account.Role == Roles.Admin) await identifiers.AddAdminAsync(account.Id, time.GetUtcNow(), ct);
        if (account.Status == AccountStatus.PendingApproval) await adminNotices.RequestApprovalAsync(account, ct);

        // Passwordless accounts are signed in by the link or code itself, once active.
        if (account.PasswordHash is null && account.StatusError() is null)
        {
            var signedIn = await completion.CompleteAsync(new SignInStep(account.Id, SignInMethod.Verification, false, false)
            {
                Account = account,
                NoChallenge = true,
            }, client, ct);
            if (signedIn.Ok) return new VerifyResult(account.Status, signedIn.Value!.Session);
        }
        return new VerifyResult(account.Status);
    }

    private async Task DropClaimAsync(Account account, string grant, string subject, CancellationToken ct)
    {
        // The claim and its code row (keyed by this account's id) go: nothing is left to confirm.
        await Task.WhenAll(identifiers.RemoveClaimAsync(subject, account.Id, ct),
            tokenRows.RemoveCodeAsync(TokenPurpose.Verify, subject, account.Id, ct));
        // Best effort: the answer is email_taken whatever happens here.
        await Optimistic.TryRetryAsync(async _ =>
        {
            if (account.VerificationGrant != grant) return true;
            account.VerificationGrant = null;
            // A lost email change leaves nothing to confirm: its deadline goes too (a signup keeps its own).
            var droppedDeadline = account.PendingEmail is not null ? account.ConfirmationDeadline : null;
            if (account.PendingEmail is not null)
            {
                account.PendingEmail = null;
                account.ConfirmationDeadline = null;
            }
            account.UpdatedAt = time.GetUtcNow();
            if (await accounts.TryReplaceAsync(account, ct))
            {
                if (droppedDeadline is { } d) await due.RemoveAsync(DueRow.Deadline, d, account.Id, ct);
                return true;
            }
            var fresh = await accounts.GetAsync(account.Id, ct);
            if (fresh is null) return true;
            account = fresh;
            return false;
        }, ct);
    }

    /// <summary>
    /// Sends a fresh link and code to the newest unverified claims on the address (earlier
    /// ones die). Always answers the same; a per-address limit applies silently.
    /// </summary>
    public async Task<Result<string>> ResendAsync(string? email, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(email)) return Errors.Validation("email", "An email address is required.");
        if (!EmailAddress.IsValid(email)) return Errors.Validation("email", "This is not a valid email address.");
        var subject = EmailAddress.Hash(email);
        var decision = await limiter.HitAsync("resend", subject, security.ResendLimit, security.ResendWindow, ct);
        if (!decision.Allowed) return "accepted";

        foreach (var claim in await identifiers.ListClaimsAsync(subject, MaxClaimsResent, ct))
        {
            var account = await accounts.GetAsync(claim.AccountId, ct);
            if (account is null || account.EmailVerified || account.Email is null || EmailAddress.Hash(account.Email) != subject
                || account.Status != AccountStatus.Unverified)
                continue;
            var grant = await tokens.IssueAsync(TokenPurpose.Verify, account.Id, subject, options.VerificationTokenLifetime, ct);
            account.VerificationGrant = grant.TokenId;
            account.UpdatedAt = time.GetUtcNow();
            var mail = outbox.Create(account.Id, EmailTemplates.VerifyEmail, account.Email, account.FullName,
                new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "" }, grant);
            await outbox.CommitWithAccountAsync(account, mail, ct);
        }
        return "accepted";
    }
}
