using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Table <c>audit</c>: one event, stored once per partition it must be found in (a batch cannot
/// span partitions). RowKey <c>{inverted ticks}-{inverted sequence}-{random}</c>, identical in
/// every copy, so each partition lists newest first.
/// <list type="bullet">
/// <item>PK <c>day-{yyyyMMdd}-{shard}</c>: every event of that UTC day (the unfiltered list).</item>
/// <item>PK <c>account-{account id}</c>: the events about the account, and those it caused as an admin.</item>
/// </list>
/// </summary>
public sealed class AuditRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public DateTimeOffset At { get; set; }
    public string Type { get; set; } = "";
    /// <summary>The account the event is about (a pseudonym once the account is deleted).</summary>
    public string? AccountId { get; set; }
    /// <summary>The admin who acted, when it was not the account itself.</summary>
    public string? ActorId { get; set; }
    public string? Ip { get; set; }
    /// <summary>A small JSON object of strings.</summary>
    public string? Detail { get; set; }

    public AuditRow CopyTo(string partitionKey) => new()
    {
        PartitionKey = partitionKey, RowKey = RowKey, At = At, Type = Type, AccountId = AccountId, ActorId = ActorId, Ip = Ip, Detail = Detail,
    };
}

/// <summary>
/// Table <c>audit</c>, PK <c>days</c>, RK 99999999 − yyyyMMdd: the days that have events, newest
/// first, so the unfiltered list walks back over existing day partitions only.
/// </summary>
public sealed class AuditDayRow : ITableEntity
{
    public const string Partition = "days";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Day { get; set; } = "";
}

/// <summary>
/// Table <c>audit</c> (docs/storage.md, "Audit trail"): the copies of an event, the days index,
/// the placeholder rows of the enumeration-safe paths, and the reads that page through them.
/// What an event says, and who is named in it, is <c>Audit/AuditLog</c>'s.
/// </summary>
public sealed class AuditTable(StorageContext storage)
{
    private TableClient Table => storage.Audit;

    /// <summary>
    /// A day's events are spread over 16 partitions, <c>day-{yyyyMMdd}-{0..f}</c>, the shard being
    /// the last hex digit of the row key's random part: no single partition takes every event of
    /// the day (docs/scale.md), and any copy's day partition follows from its row alone.
    /// </summary>
    public const int DayShards = 16;

    /// <summary>Partition of the placeholder rows <see cref="AddDecoysAsync"/> inserts into; no listing reads it.</summary>
    public const string DecoyPartition = "decoy";

    private const string DayPrefix = "day-";
    private static uint _sequence = uint.MaxValue;
    private readonly ConcurrentDictionary<string, bool> _daysIndexed = new();

    public static string AccountPartition(string accountId) => "account-" + accountId;
    public static string DayPartition(string day, string rowKey) => $"{DayPrefix}{day}-{rowKey[^1]}";
    private static IEnumerable<string> DayPartitions(string day) => Enumerable.Range(0, DayShards).Select(i => $"{DayPrefix}{day}-{i:x}");
    /// <summary>The UTC day (<c>yyyyMMdd</c>) of an event.</summary>
    public static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
    /// <summary>The day (<c>yyyyMMdd</c>) of a row read from a day partition.</summary>
    public static string DayOf(AuditRow dayRow) => dayRow.PartitionKey[DayPrefix.Length..(DayPrefix.Length + 8)];
    private static string DayKey(string day) => (99999999 - int.Parse(day, CultureInfo.InvariantCulture)).ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>
    /// Inverted ticks so newer sorts first; then an inverted per-process sequence, so events of
    /// one tick on one instance also list newest first; then randomness, so instances never collide.
    /// </summary>
    public static string NewRowKey(DateTimeOffset at)
    {
        var sequence = Interlocked.Decrement(ref _sequence);
        return $"{DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks:D19}-{sequence:D10}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
    }

    /// <summary>A point read in an account's partition (comparable work on an enumeration-safe path: where an event would go).</summary>
    public Task<AuditRow?> PeekAsync(string key, CancellationToken ct = default) => Table.GetOrNullAsync<AuditRow>(AccountPartition(key), key, ct);

    /// <summary>
    /// Inserts the event's copies in parallel (one round trip): the day partition, and the
    /// partition of each account given (the one it is about, the admin who acted). The first event
    /// of a day on this instance first upserts the day's index row, so a day partition is never
    /// unreachable from the index.
    /// </summary>
    public async Task AddAsync(AuditRow row, params string?[] accountIds)
    {
        var day = Day(row.At);
        if (!_daysIndexed.ContainsKey(day))
        {
            await Table.UpsertEntityAsync(new AuditDayRow { RowKey = DayKey(day), Day = day }, TableUpdateMode.Replace);
            _daysIndexed[day] = true;
        }
        var partitions = accountIds.Select(id => id is null ? null : AccountPartition(id)).Prepend(DayPartition(day, row.RowKey));
        await Task.WhenAll(partitions.OfType<string>().Select(pk => Table.AddEntityAsync(row.CopyTo(pk))));
    }

    /// <summary>
    /// Two inserts, as an event with an account makes, of fixed placeholder rows that exist after the
    /// first time: they conflict (409, ignored), so nothing accumulates.
    /// </summary>
    public Task AddDecoysAsync() => Task.WhenAll(new[] { "a", "b" }.Select(async rk =>
    {
        try
        {
            await Table.AddEntityAsync(new AuditRow { PartitionKey = DecoyPartition, RowKey = rk, At = DateTimeOffset.UnixEpoch, Type = "decoy" });
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
        }
    }));

    /// <summary>Every row of an account's partition.</summary>
    public async Task<List<AuditRow>> ListAccountAsync(string accountId, CancellationToken ct = default)
    {
        var rows = new List<AuditRow>();
        await foreach (var row in Table.QueryAsync<AuditRow>(r => r.PartitionKey == AccountPartition(accountId), cancellationToken: ct))
            rows.Add(row);
        return rows;
    }

    /// <summary>
    /// Replaces <paramref name="original"/> by <paramref name="rewritten"/>: upserts it (in parallel)
    /// into its day partition and the partitions of <paramref name="accountIds"/>, then removes the
    /// original row. Idempotent.
    /// </summary>
    public async Task RewriteAsync(AuditRow original, AuditRow rewritten, IEnumerable<string?> accountIds, CancellationToken ct = default)
    {
        var targets = accountIds.Select(id => id is null ? null : AccountPartition(id)).Prepend(DayPartition(Day(original.At), original.RowKey));
        await Task.WhenAll(targets.OfType<string>().Select(pk => Table.UpsertEntityAsync(rewritten.CopyTo(pk), TableUpdateMode.Replace, ct)));
        await Table.DeleteIfExistsAsync(original.PartitionKey, original.RowKey, ct);
    }

    /// <summary>An account's events, newest first, after <paramref name="after"/>, until <paramref name="into"/> holds <paramref name="max"/>.</summary>
    public Task ReadAccountAsync(string accountId, string? after, List<AuditRow> into, int max, CancellationToken ct = default) =>
        ReadAsync(AccountPartition(accountId), after, into, max, ct);

    /// <summary>The days that have events, newest first, from <paramref name="fromDay"/> (<c>yyyyMMdd</c>) back; all of them when null.</summary>
    public async IAsyncEnumerable<string> ListDaysAsync(string? fromDay,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var startKey = fromDay is null ? "" : DayKey(fromDay);
        await foreach (var day in Table.QueryAsync<AuditDayRow>(
            d => d.PartitionKey == AuditDayRow.Partition && d.RowKey.CompareTo(startKey) >= 0, cancellationToken: ct))
            yield return day.Day;
    }

    /// <summary>
    /// One day, newest first, across its shards: each shard is read (in parallel) for at most what
    /// the page still needs, and the rows are merged by row key, which orders them in time whatever
    /// their shard.
    /// </summary>
    public async Task ReadDayAsync(string day, string? after, List<AuditRow> into, int max, CancellationToken ct = default)
    {
        var want = max - into.Count;
        var shards = await Task.WhenAll(DayPartitions(day).Select(async pk =>
        {
            var rows = new List<AuditRow>();
            await ReadAsync(pk, after, rows, want, ct);
            return rows;
        }));
        into.AddRange(shards.SelectMany(r => r).OrderBy(r => r.RowKey, StringComparer.Ordinal).Take(want));
    }

    private async Task ReadAsync(string partition, string? after, List<AuditRow> into, int max, CancellationToken ct)
    {
        var filter = after is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partition}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {after}");
        await foreach (var row in Table.QueryAsync<AuditRow>(filter, maxPerPage: Math.Min(max - into.Count, 1000), cancellationToken: ct))
        {
            into.Add(row);
            if (into.Count >= max) return;
        }
    }
}
