using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Table <c>due</c>: what the sweep must look at, by the hour it falls due (<see cref="DueRow"/>
/// owns the key format). Markers are written unconditionally: a row says only "look at this
/// then", and the sweep re-reads what it points at before acting.
/// </summary>
public sealed class DueTable(StorageContext storage)
{
    private TableClient Table => storage.Due;

    /// <summary>Writes (or moves forward) a marker.</summary>
    public Task SetAsync(DueRow row, CancellationToken ct = default) => Table.UpsertEntityAsync(row, TableUpdateMode.Replace, ct);

    /// <summary>Removes a marker whatever its state.</summary>
    public Task RemoveAsync(DueRow row, CancellationToken ct = default) => Table.DeleteIfExistsAsync(row.PartitionKey, row.RowKey, ct);

    /// <summary>Removes the marker of (kind, due time, row key), if any.</summary>
    public Task RemoveAsync(string kind, DateTimeOffset dueAt, string rowKey, CancellationToken ct = default) =>
        Table.DeleteIfExistsAsync(DueRow.Partition(kind, dueAt, rowKey), rowKey, ct);

    /// <summary>Removes a marker the sweep read, only if no one moved it meanwhile.</summary>
    public Task<bool> TryRemoveAsync(DueRow row, CancellationToken ct = default) => Table.TryDeleteAsync(row, ct);

    /// <summary>The markers of one kind due by <paramref name="now"/>: one PK range over every shard of every hour up to now.</summary>
    public async IAsyncEnumerable<DueRow> ListDueAsync(string kind, DateTimeOffset now,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var from = kind + "-";
        var to = DueRow.UpperBound(kind, now);
        await foreach (var row in Table.QueryAsync<DueRow>(r => r.PartitionKey.CompareTo(from) >= 0 && r.PartitionKey.CompareTo(to) <= 0,
            cancellationToken: ct))
        {
            if (row.DueAt <= now) yield return row;
        }
    }
}
