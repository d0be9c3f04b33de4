using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;

namespace AccountFunctions.Core;

/// <summary>
/// Removes an account and what is stored for it: its partition of <c>accounts</c> (sessions,
/// so its tokens die at once, and outbox rows with their replay markers), its index rows (the
/// email owner row only if it is this account's), its codes and their consumption markers, its
/// link tokens (found through their index rows in its partition) and its deadline marker; its
/// audit trail is rewritten under a pseudonym. Index rows go first and the account row last,
/// with its ETag: a crash in between leaves an account that deleting again finishes, and a
/// change that slipped in (a new session) makes it go round again.
/// </summary>
public sealed class AccountDeletion(TokensTable tokenRows, AccountsTable accounts, DueTable dueRows, IdentifierIndex identifiers, OneTimeTokens tokens, Outbox outbox, AuditLog audit)
{
    /// <param name="adminId">The admin deleting it; null when people delete their own account.</param>
    /// <param name="adminIp">Recorded with an admin's deletion only: a person's own address goes with their account.</param>
    /// <returns>false when there was no such account.</returns>
    public async Task<bool> DeleteAsync(string id, string? adminId, string? adminIp, CancellationToken ct = default)
    {
        var found = true;
        await Optimistic.RetryAsync(async attempt =>
        {
            var account = await accounts.GetAsync(id, ct);
            if (account is null)
            {
                found = attempt > 0;
                return true;
            }
            await RemoveIndexRowsAsync(account, ct);
            await RemovePartitionRowsAsync(id, ct);
            // Before the account row goes, so a crash leaves something deleting again repairs.
            await audit.PseudonymiseAsync(id, ct);
            return await accounts.TryDeleteAsync(account, ct);
        }, $"Account {id} kept changing while being deleted.", ct);
        if (!found) return false;
        // Again, now that the account row is gone: a request in flight (an email change, a sign-in)
        // may have added rows to the partition after the pass above. Writers that find the account
        // gone after writing remove their own rows too (RemoveLeftoversAsync).
        await RemovePartitionRowsAsync(id, ct);
        // Again: an event recorded by a request that was in flight during the deletion.
        await audit.PseudonymiseAsync(id, ct);
        await audit.RecordAsync(AuditEvent.AccountDeleted, await audit.PseudonymAsync(id), adminId is null ? null : adminIp,
            adminId is null ? AuditLog.Detail(("by", "self")) : null, adminId);
        return true;
    }

    private async Task RemoveIndexRowsAsync(Account account, CancellationToken ct)
    {
        foreach (var email in new[] { account.Email, account.PendingEmail }.OfType<string>().Distinct())
        {
            var hash = EmailAddress.Hash(email);
            // The owner row only if it is this account's: the address may belong to someone else.
            if (await identifiers.GetEmailOwnerAsync(hash, ct) is { } owner && owner.AccountId == account.Id)
                await identifiers.TryRemoveAsync(owner, ct);
            await identifiers.RemoveClaimAsync(hash, account.Id, ct);
            foreach (var purpose in new[] { TokenPurpose.Verify, TokenPurpose.Magic, TokenPurpose.Reset, TokenPurpose.Revert, TokenPurpose.EmailChange })
            {
                await tokens.RemoveCodesAsync(purpose, hash, account.Id, ct);
            }
        }
        if (account.AccountNumber is { } number
            && await identifiers.GetNumberOwnerAsync(AccountNumber.Hash(number), ct) is { } numberOwner && numberOwner.AccountId == account.Id)
            await identifiers.TryRemoveAsync(numberOwner, ct);
        await identifiers.RemoveAdminAsync(account.Id, ct);
        await External.ExternalLinks.RemoveIndexRowsAsync(identifiers, account, ct);
        if (account.VerificationGrant is { } grant) await tokenRows.RemoveLinkAsync(grant, ct);
        if (account.ConfirmationDeadline is { } deadline)
            await dueRows.RemoveAsync(DueRow.Deadline, deadline, account.Id, ct);
    }

    /// <summary>
    /// For a writer that wrote rows for an account (link tokens, codes, due markers) and then found
    /// the account gone (its commit failed, the account row is not there): removes what the writer
    /// wrote, and anything else left in the partition, so no row keeps the deleted id. Does nothing
    /// while the account exists (its deletion, if any, finds everything through the partition).
    /// </summary>
    public async Task RemoveLeftoversAsync(string id, IEnumerable<DueRow> due, CancellationToken ct = default)
    {
        if (await accounts.GetAsync(id, ct) is not null) return;
        await RemovePartitionRowsAsync(id, ct);
        foreach (var row in due) await dueRows.RemoveAsync(row, ct);
    }

    /// <summary>Sessions (so tokens die at once), outbox rows (with their replay markers) and link tokens; not the account row.</summary>
    private async Task RemovePartitionRowsAsync(string id, CancellationToken ct)
    {
        foreach (var row in await accounts.ListBesideAsync(id, ct))
        {
            if (row.RowKey.StartsWith(TokenIndexRow.Prefix, StringComparison.Ordinal))
            {
                await tokens.RemoveLinkAsync(EntityMapper.To<TokenIndexRow>(row), ct, withCode: true);
                continue;
            }
            await accounts.RemoveAsync(id, row.RowKey, ct);
            if (row.RowKey.StartsWith(OutboxRow.Prefix, StringComparison.Ordinal) && row.GetDateTimeOffset(nameof(OutboxRow.CreatedAt)) is { } created)
            {
                var marker = DueRow.For(DueRow.Outbox, $"{id}-{row.RowKey[OutboxRow.Prefix.Length..]}", created + outbox.ReplayAfter);
                await dueRows.RemoveAsync(marker, ct);
            }
        }
    }

}
