using Azure;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Table <c>limits</c>: fixed-window counters shared by every instance. PK the limit and a hash of
/// its subject (built by the limiter that owns the limit: <c>{limit}-{hash}</c>, <c>ip-{group}-{hash}</c>),
/// RK the window's start in ticks. Counted with ETag writes (<see cref="Optimistic"/>).
/// </summary>
public sealed class LimitsTable(StorageContext storage)
{
    private TableClient Table => storage.Limits;

    public static string WindowKey(long startTicks) => startTicks.ToString("D19");

    public Task<LimitRow?> GetAsync(string partition, string window, CancellationToken ct = default) =>
        Table.GetOrNullAsync<LimitRow>(partition, window, ct);

    /// <summary>The window's first count: false when a racer started it first.</summary>
    public Task<bool> TryStartAsync(LimitRow row, CancellationToken ct = default) => Table.TryAddAsync(row, ct);

    /// <summary>A count written with the ETag it was read with: false when a racer counted first.</summary>
    public Task<bool> TryCountAsync(LimitRow row, CancellationToken ct = default) => Table.TryReplaceAsync(row, ct);
}

public sealed class LimitRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public int Count { get; set; }
    public DateTimeOffset WindowEnd { get; set; }
}
