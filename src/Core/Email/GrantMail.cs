using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Email;

/// <summary>
/// What a grant is for: its token purpose, the email that carries it, the audit event once it is
/// on its way, and where the account keeps the grant's id (a newer grant supersedes the older).
/// </summary>
public sealed record GrantKind(string Purpose, string Template, string AuditEvent, Action<Account, string> Keep);

/// <summary>
/// Issues a link and code grant to the verified owner of an address and mails it: the grant's id
/// on the account and the email commit in one transaction with the ETag. Used by forgot-password
/// and sign-in by email, whose answers are the same whatever happens here.
/// </summary>
public sealed class GrantMail(AccountsTable accounts, OneTimeTokens tokens, Outbox outbox, AuditLog audit)
{
    public async Task SendAsync(Account owner, string subject, GrantKind kind, TimeSpan lifetime, string? ip, CancellationToken ct)
    {
        var account = owner;
        var grant = await tokens.IssueAsync(kind.Purpose, account.Id, subject, lifetime, ct);
        await Optimistic.TryRetryAsync(async _ =>
        {
            kind.Keep(account, grant.TokenId);
            var mail = outbox.Create(account.Id, kind.Template, account.Email!, account.FullName,
                new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "" }, grant);
            if (await outbox.CommitWithAccountAsync(account, mail, ct))
            {
                await audit.RecordAsync(kind.AuditEvent, account.Id, ip);
                return true;
            }
            var fresh = await accounts.GetAsync(account.Id, ct);
            // Changed meanwhile: mail only an account that still owns the address.
            if (fresh is not { EmailVerified: true, Email: not null } || EmailAddress.Hash(fresh.Email) != subject) return true;
            account = fresh;
            return false;
        }, ct);
    }
}
