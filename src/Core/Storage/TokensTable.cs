using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Table <c>tokens</c>: single-use things, keyed so what a person holds finds them. Link tokens
/// (<see cref="LinkTokenRow"/>, PK the token id), 6-digit codes (<see cref="CodeRow"/>, PK
/// <c>code-{purpose}-{subject}</c>, RK the account), invites, second-step tokens and external
/// sign-in flows (their rows live beside their flows; their key formats are the flows'), each
/// consumed by a marker row <c>~used-{version}</c> in its partition (<see cref="TableResults.TryConsumeAsync"/>).
/// </summary>
public sealed class TokensTable(StorageContext storage)
{
    private TableClient Table => storage.Tokens;

    /// <summary>Inserts a new token row (its id is fresh random bits: a conflict is a bug, and throws).</summary>
    public Task AddAsync(ITableEntity row, CancellationToken ct = default) => Table.AddEntityAsync(row, ct);

    public Task<T?> GetAsync<T>(string partition, string rowKey, CancellationToken ct = default) where T : class, ITableEntity, new() =>
        Table.GetOrNullAsync<T>(partition, rowKey, ct);

    /// <summary>Writes the account's code for a purpose and subject; replacing it is what makes an earlier code dead.</summary>
    public Task SetCodeAsync(CodeRow code, CancellationToken ct = default) => Table.UpsertEntityAsync(code, TableUpdateMode.Replace, ct);

    /// <summary>The live code rows of a code partition (markers excluded), at most <paramref name="max"/>.</summary>
    public async Task<List<CodeRow>> ListCodesAsync(string partition, int max, CancellationToken ct = default)
    {
        var rows = new List<CodeRow>();
        await foreach (var r in Table.QueryAsync<CodeRow>(r => r.PartitionKey == partition && r.RowKey.CompareTo(TableResults.MarkerPrefix) < 0,
            maxPerPage: max, cancellationToken: ct))
        {
            rows.Add(r);
            if (rows.Count == max) break;
        }
        return rows;
    }

    /// <summary>Single use: of any number of racers exactly one gets true (TableResults.TryConsumeAsync).</summary>
    public Task<bool> TryConsumeAsync(ITableEntity row, string version, CancellationToken ct = default) => Table.TryConsumeAsync(row, version, ct);

    /// <summary>Writes a row with the ETag it was read with (a wrong code's try counted).</summary>
    public Task<bool> TryReplaceAsync(ITableEntity row, CancellationToken ct = default) => Table.TryReplaceAsync(row, ct);

    /// <summary>Deletes a row if it is still the version that was read (a code's last try).</summary>
    public Task<bool> TryDeleteAsync(ITableEntity row, CancellationToken ct = default) => Table.TryDeleteAsync(row, ct);

    /// <summary>Removes a row whatever its state.</summary>
    public Task RemoveAsync(string partition, string rowKey, CancellationToken ct = default) => Table.DeleteIfExistsAsync(partition, rowKey, ct);

    /// <summary>Removes the rows of a partition whose keys fall in [from, to).</summary>
    public async Task RemoveRangeAsync(string partition, string from, string to, CancellationToken ct = default)
    {
        var keys = new List<string>();
        await foreach (var m in Table.QueryAsync<TableEntity>(
            e => e.PartitionKey == partition && e.RowKey.CompareTo(from) >= 0 && e.RowKey.CompareTo(to) < 0, select: ["RowKey"], cancellationToken: ct))
            keys.Add(m.RowKey);
        foreach (var key in keys) await Table.DeleteIfExistsAsync(partition, key, ct);
    }

    /// <summary>The row keys of a partition from <paramref name="from"/> on (attempt rows and markers beside a token).</summary>
    public async Task<List<string>> ListKeysFromAsync(string partition, string from, CancellationToken ct = default)
    {
        var keys = new List<string>();
        await foreach (var e in Table.QueryAsync<TableEntity>(
            e => e.PartitionKey == partition && e.RowKey.CompareTo(from) >= 0, select: ["RowKey"], cancellationToken: ct))
            keys.Add(e.RowKey);
        return keys;
    }

    /// <summary>Inserts a row that only says "this happened at": the insert is the lock, false when it exists.</summary>
    public Task<bool> TryAddMarkerAsync(string partition, string rowKey, string property, DateTimeOffset at, CancellationToken ct = default) =>
        Table.TryAddAsync(new TableEntity(partition, rowKey) { [property] = at }, ct);
}
