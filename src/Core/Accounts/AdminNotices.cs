using AccountFunctions.Core.Email;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core;

/// <summary>Telling the admins that an account waits for their approval (signup, verification, external sign-up).</summary>
public sealed class AdminNotices(AccountsTable accounts, IdentifierIndex identifiers, Outbox outbox)
{
    /// <summary>Emails every admin that an account waits for approval (one outbox row per admin).</summary>
    public async Task RequestApprovalAsync(Account account, CancellationToken ct)
    {
        foreach (var adminId in await identifiers.ListAdminsAsync(ct))
        {
            var admin = await accounts.GetAsync(adminId, ct);
            if (admin is not { Role: Roles.Admin, EmailVerified: true, Email: not null }) continue;
            // In the partition of the account it is about (it carries its id and details), so
            // deleting that account removes the notice too.
            var mail = outbox.Create(account.Id, EmailTemplates.ApprovalRequested, admin.Email, admin.FullName, new Dictionary<string, string>
            {
                ["firstName"] = admin.FirstName ?? "",
                ["userId"] = account.Id,
                ["userEmail"] = account.Email ?? "",
                ["userFirstName"] = account.FirstName ?? "",
                ["userLastName"] = account.LastName ?? "",
                ["userComment"] = account.Comment ?? "",
            });
            await outbox.CommitAsync(mail, ct);
        }
    }
}
