using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>Table <c>keys</c> (development only): keys generated when none is configured, PK <c>key</c>, RK the key's name.</summary>
public sealed class KeysTable(StorageContext storage)
{
    private TableClient Table => storage.Keys;

    /// <summary>The stored value of a named key, or the one <paramref name="create"/> makes (the first instance's insert wins).</summary>
    public async Task<string> GetOrCreateAsync(string name, Func<string> create)
    {
        var existing = await Table.GetOrNullAsync<KeyRow>("key", name);
        if (existing is not null) return existing.Value;
        var row = new KeyRow { RowKey = name, Value = create() };
        if (await Table.TryAddAsync(row)) return row.Value;
        return (await Table.GetOrNullAsync<KeyRow>("key", name))!.Value;
    }
}
