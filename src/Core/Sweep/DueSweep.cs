using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Sweep;

public sealed record SweepResult(int Locked, int Replayed, int Examined);

/// <summary>
/// The due sweep, run by the <c>LockoutSweep</c> timer (the function keeps that name: it is the
/// contract). Reads only the <c>due</c> partitions up to the current hour, so its cost grows with
/// what is due, not with the number of accounts. For each confirmation deadline
/// that has passed it re-reads the account (the deadline may have been met or moved) and locks
/// it with its ETag, ending its sessions and telling the user; it also re-enqueues emails whose
/// queue message was lost. Two sweeps racing: the ETag makes the second a no-op.
/// </summary>
public sealed class DueSweep(AccountsTable accounts, DueTable dueRows, Outbox outbox, SessionService sessions, AuditLog audit, TimeProvider time, ILogger<DueSweep> log)
{
    private const int MaxReplays = 3;

    public async Task<SweepResult> RunAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        int locked = 0, replayed = 0, examined = 0;
        await foreach (var due in DueAsync(DueRow.Deadline, now, ct))
        {
            examined++;
            if (await LockIfStillDueAsync(due, now, ct)) locked++;
        }
        await foreach (var due in DueAsync(DueRow.Outbox, now, ct))
        {
            examined++;
            if (await ReplayIfUnsentAsync(due, now, ct)) replayed++;
        }
        if (locked + replayed > 0) log.LogInformation("Sweep locked {Locked} account(s), re-enqueued {Replayed} email(s)", locked, replayed);
        return new SweepResult(locked, replayed, examined);
    }

    private IAsyncEnumerable<DueRow> DueAsync(string kind, DateTimeOffset now, CancellationToken ct) => dueRows.ListDueAsync(kind, now, ct);

    private async Task<bool> LockIfStillDueAsync(DueRow due, DateTimeOffset now, CancellationToken ct)
    {
        var accountId = due.RowKey;
        var locked = false;
        // Spent budget: the marker stays and the next sweep looks again.
        await Optimistic.TryRetryAsync(async _ =>
        {
            var account = await accounts.GetAsync(accountId, ct);
            // Met (null), moved (another marker exists for the new time), or gone: nothing to do.
            if (account?.ConfirmationDeadline is not { } deadline || deadline != due.DueAt || deadline > now)
            {
                await dueRows.TryRemoveAsync(due, ct);
                return true;
            }
            // A verified account with no pending change has nothing left to confirm (a dropped change).
            if (account.EmailVerified && account.PendingEmail is null)
            {
                await dueRows.TryRemoveAsync(due, ct);
                return true;
            }
            // An email change (PendingEmail set) is told at the verified address, never the unproven new one.
            var change = account.PendingEmail is not null;
            account.Status = AccountStatus.Locked;
            account.SessionEpoch++; // every session ends, also one a racing sign-in commits later
            account.LockReason = change ? LockReasons.UnconfirmedEmailChange : LockReasons.UnconfirmedEmail;
            account.ConfirmationDeadline = null;
            account.VerificationGrant = null;
            account.UpdatedAt = now;
            var to = change ? (account.EmailVerified ? account.Email : null) : account.Email;
            var mail = to is null ? null : outbox.Create(account.Id, change ? EmailTemplates.LockedUnconfirmedChange : EmailTemplates.LockedUnconfirmed,
                to, null, new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "", ["newEmail"] = account.PendingEmail ?? "" });
            var lockChange = AccountChange.Of(account);
            if (mail is not null) lockChange.Send(mail);
            var committed = await outbox.CommitAsync(lockChange, ct);
            if (!committed) return false; // changed under us: look again
            await sessions.EndAllAsync(account.Id, ct);
            await dueRows.TryRemoveAsync(due, ct);
            log.LogInformation("Locked account {AccountId}: {Reason}", account.Id, account.LockReason);
            await audit.RecordAsync(AuditEvent.AccountLocked, account.Id, null, AuditLog.Detail(("by", "sweep"), ("reason", account.LockReason ?? LockReasons.UnconfirmedEmail)));
            return locked = true;
        }, ct);
        return locked;
    }

    private async Task<bool> ReplayIfUnsentAsync(DueRow due, DateTimeOffset now, CancellationToken ct)
    {
        var dash = due.RowKey.IndexOf('-');
        if (dash <= 0) { await dueRows.TryRemoveAsync(due, ct); return false; }
        var row = await accounts.GetRowAsync<OutboxRow>(due.RowKey[..dash], OutboxRow.Prefix + due.RowKey[(dash + 1)..], ct);
        if (row is null || row.Status == OutboxStatus.Sent || due.Replays >= MaxReplays)
        {
            if (row is not null && row.Status != OutboxStatus.Sent)
                log.LogError("Outbox message {MessageId} is still unsent after {Replays} replays; see the poison queue", row.MessageId, due.Replays);
            await dueRows.TryRemoveAsync(due, ct);
            return false;
        }
        if (row.Status == OutboxStatus.Sending && row.LeaseUntil > now) return false;
        // Move the marker forward first, so a crash here cannot lose it.
        var next = DueRow.For(DueRow.Outbox, due.RowKey, now + outbox.ReplayAfter);
        next.Replays = due.Replays + 1;
        await dueRows.SetAsync(next, ct);
        if (next.PartitionKey != due.PartitionKey) await dueRows.TryRemoveAsync(due, ct);
        await outbox.EnqueueAsync(row, ct);
        return true;
    }
}
