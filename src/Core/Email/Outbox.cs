using System.Text.Json;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Email;

/// <summary>The queue message: which outbox row to send. Nothing personal, nothing secret.</summary>
public sealed record OutboxMessage(string AccountId, string MessageId);

/// <summary>
/// Emails are recorded as outbox rows in the account's partition (so they commit in the same
/// transaction as the change that causes them), then announced on the <c>email-outbox</c> queue.
/// </summary>
public sealed class Outbox(StorageContext storage, AccountsTable accounts, DueTable due, EmailOptions options, TimeProvider time, ILogger<Outbox> log)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public OutboxRow Create(string accountId, string template, string to, string? toName,
        IReadOnlyDictionary<string, string>? fields = null, Grant? grant = null) => new()
    {
        PartitionKey = accountId,
        RowKey = OutboxRow.Prefix + Guid.CreateVersion7().ToString("N"),
        Template = template,
        To = to,
        ToName = toName,
        ModelJson = EmailTemplates.ModelJson(fields ?? new Dictionary<string, string>()),
        TokenId = grant?.TokenId,
        CodeNonce = grant?.CodeNonce,
        CreatedAt = time.GetUtcNow(),
    };

    public TimeSpan ReplayAfter => options.OutboxReplayAfter;

    // The marker's partition follows from its due time: changing Email__OutboxReplayAfter leaves the
    // markers written before unfound by the sender, and the sweep replays those already-sent rows as no-ops.
    public DueRow ReplayRow(OutboxRow row) =>
        DueRow.For(DueRow.Outbox, $"{row.AccountId}-{row.MessageId}", row.CreatedAt + ReplayAfter);

    /// <summary>
    /// Records the emails and announces them: a replay marker first (in <c>due</c>), then the
    /// caller's transaction (which adds the outbox rows), then the queue messages. If the process
    /// dies after the commit, the sweep finds the marker and enqueues again; if the commit fails,
    /// the marker points at nothing and the sweep drops it.
    /// </summary>
    public async Task<bool> CommitAsync(IReadOnlyList<OutboxRow> mails, Func<Task<bool>> commit, CancellationToken ct = default)
    {
        foreach (var mail in mails) await due.SetAsync(ReplayRow(mail), ct);
        if (!await commit())
        {
            // Nothing was committed (a conflict, or the account is gone): the markers point at
            // nothing, and they carry the account id, so they go now rather than at the sweep.
            foreach (var mail in mails) await due.RemoveAsync(ReplayRow(mail), ct);
            return false;
        }
        await EnqueueAsync(mails, ct);
        return true;
    }

    /// <summary>
    /// The account row, written with the ETag it was read with, and one email it causes, in one
    /// transaction in the account's partition; false when the account changed meanwhile.
    /// </summary>
    public Task<bool> CommitWithAccountAsync(Account account, OutboxRow mail, CancellationToken ct = default) =>
        CommitAsync(AccountChange.Of(account).Send(mail), ct);

    /// <summary>A change of the account's partition and the emails it sends (<see cref="AccountChange.Send"/>), recorded and announced as above.</summary>
    public Task<bool> CommitAsync(AccountChange change, CancellationToken ct = default) =>
        CommitAsync(change.Mails, () => accounts.TryCommitAsync(change, ct), ct);

    /// <summary>For an email that goes with no other change.</summary>
    public Task<bool> CommitAsync(OutboxRow mail, CancellationToken ct = default) =>
        CommitAsync([mail], async () => { await accounts.AddAsync(mail, ct); return true; }, ct);

    /// <summary>
    /// Announces committed outbox rows. A failure here is logged, not thrown: the change that
    /// caused the email has committed, and the row stays pending for the replay to pick up.
    /// </summary>
    public async Task EnqueueAsync(IEnumerable<OutboxRow> rows, CancellationToken ct = default)
    {
        foreach (var row in rows)
        {
            try
            {
                await storage.Outbox.SendMessageAsync(JsonSerializer.Serialize(new OutboxMessage(row.AccountId, row.MessageId), Json), ct);
            }
            catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException or TaskCanceledException)
            {
                log.LogWarning(e, "Outbox message {MessageId} was recorded but not enqueued; it stays pending", row.MessageId);
            }
        }
    }

    public Task EnqueueAsync(OutboxRow row, CancellationToken ct = default) => EnqueueAsync([row], ct);
}
