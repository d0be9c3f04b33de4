using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Lockout;

public sealed record SweepResult(int Locked, int Replayed, int Examined);

/// <summary>
/// The LockoutSweep timer. Reads only the <c>due</c> partitions up to the current hour, so its
/// cost grows with what is due, not with the number of accounts. For each confirmation deadline
/// that has passed it re-reads the account (the deadline may have been met or moved) and locks
/// it with its ETag, ending its sessions and telling the user; it also re-enqueues emails whose
/// queue message was lost. Two sweeps racing: the ETag makes the second a no-op.
/// </summary>
public sealed class LockoutSweeper(StorageContext storage, Outbox outbox, AuditLog audit, TimeProvider time, ILogger<LockoutSweeper> log)
{
    public const string UnconfirmedEmail = "email_unconfirmed";
    /// <summary>The lock reason when a requested email change was not confirmed by its deadline.</summary>
    public const string UnconfirmedEmailChange = "email_change_unconfirmed";
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

    private async IAsyncEnumerable<DueRow> DueAsync(string kind, DateTimeOffset now,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var from = kind + "-";
        var to = DueRow.UpperBound(kind, now);
        await foreach (var row in storage.Due.QueryAsync<DueRow>(r => r.PartitionKey.CompareTo(from) >= 0 && r.PartitionKey.CompareTo(to) <= 0,
            cancellationToken: ct))
        {
            if (row.DueAt <= now) yield return row;
        }
    }

    private async Task<bool> LockIfStillDueAsync(DueRow due, DateTimeOffset now, CancellationToken ct)
    {
        var accountId = due.RowKey;
        var locked = false;
        // Spent budget: the marker stays and the next sweep looks again.
        await Optimistic.TryRetryAsync(async _ =>
        {
            var account = await storage.Accounts.GetOrNullAsync<Account>(accountId, Account.Row, ct);
            // Met (null), moved (another marker exists for the new time), or gone: nothing to do.
            if (account?.ConfirmationDeadline is not { } deadline || deadline != due.DueAt || deadline > now)
            {
                await storage.Due.TryDeleteAsync(due, ct);
                return true;
            }
            // A verified account with no pending change has nothing left to confirm (a dropped change).
            if (account.EmailVerified && account.PendingEmail is null)
            {
                await storage.Due.TryDeleteAsync(due, ct);
                return true;
            }
            // An email change (PendingEmail set) is told at the verified address, never the unproven new one.
            var change = account.PendingEmail is not null;
            account.Status = AccountStatus.Locked;
            account.SessionEpoch++; // every session ends, also one a racing sign-in commits later
            account.LockReason = change ? UnconfirmedEmailChange : UnconfirmedEmail;
            account.ConfirmationDeadline = null;
            account.VerificationGrant = null;
            account.UpdatedAt = now;
            var to = change ? (account.EmailVerified ? account.Email : null) : account.Email;
            var mail = to is null ? null : outbox.Create(account.Id, change ? EmailTemplates.LockedUnconfirmedChange : EmailTemplates.LockedUnconfirmed,
                to, null, new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "", ["newEmail"] = account.PendingEmail ?? "" });
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpdateReplace, account, account.ETag) };
            if (mail is not null) actions.Add(Outbox.Add(mail));
            var committed = await outbox.CommitAsync(mail is null ? [] : [mail], () => storage.Accounts.TrySubmitAsync(actions, ct), ct);
            if (!committed) return false; // changed under us: look again
            await EndSessionsAsync(account.Id, ct);
            await storage.Due.TryDeleteAsync(due, ct);
            log.LogInformation("Locked account {AccountId}: {Reason}", account.Id, account.LockReason);
            await audit.RecordAsync(AuditEvent.AccountLocked, account.Id, null, AuditLog.Detail(("by", "sweep"), ("reason", account.LockReason ?? UnconfirmedEmail)));
            return locked = true;
        }, ct);
        return locked;
    }

    private async Task<bool> ReplayIfUnsentAsync(DueRow due, DateTimeOffset now, CancellationToken ct)
    {
        var dash = due.RowKey.IndexOf('-');
        if (dash <= 0) { await storage.Due.TryDeleteAsync(due, ct); return false; }
        var row = await storage.Accounts.GetOrNullAsync<OutboxRow>(due.RowKey[..dash], OutboxRow.Prefix + due.RowKey[(dash + 1)..], ct);
        if (row is null || row.Status == OutboxStatus.Sent || due.Replays >= MaxReplays)
        {
            if (row is not null && row.Status != OutboxStatus.Sent)
                log.LogError("Outbox message {MessageId} is still unsent after {Replays} replays; see the poison queue", row.MessageId, due.Replays);
            await storage.Due.TryDeleteAsync(due, ct);
            return false;
        }
        if (row.Status == OutboxStatus.Sending && row.LeaseUntil > now) return false;
        // Move the marker forward first, so a crash here cannot lose it.
        var next = DueRow.For(DueRow.Outbox, due.RowKey, now + Outbox.ReplayAfter);
        next.Replays = due.Replays + 1;
        await storage.Due.UpsertEntityAsync(next, TableUpdateMode.Replace, ct);
        if (next.PartitionKey != due.PartitionKey) await storage.Due.TryDeleteAsync(due, ct);
        await outbox.EnqueueAsync(row, ct);
        return true;
    }

    /// <summary>Ends every session of the account (all but <paramref name="keepSessionId"/>, when given).</summary>
    public async Task EndSessionsAsync(string accountId, CancellationToken ct, string? keepSessionId = null)
    {
        var keep = keepSessionId is null ? null : SessionRow.Prefix + keepSessionId;
        var from = SessionRow.Prefix;
        var to = SessionRow.Prefix + "~";
        await foreach (var s in storage.Accounts.QueryAsync<SessionRow>(
            r => r.PartitionKey == accountId && r.RowKey.CompareTo(from) >= 0 && r.RowKey.CompareTo(to) < 0, cancellationToken: ct))
            if (s.RowKey != keep) await storage.Accounts.DeleteIfExistsAsync(s.PartitionKey, s.RowKey, ct);
    }
}
