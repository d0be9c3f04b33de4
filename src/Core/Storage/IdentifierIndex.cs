using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>Owner and claim rows of the <c>identifiers</c> table (see IdentifierRow).</summary>
public sealed class IdentifierIndex(StorageContext storage)
{
    public const string OwnerRow = "owner";
    private TableClient Table => storage.Identifiers;

    public static string EmailOwnerKey(string emailHash) => "email-" + emailHash;
    public static string EmailClaimKey(string emailHash) => "claim-" + emailHash;

    public Task<IdentifierRow?> GetEmailOwnerAsync(string emailHash, CancellationToken ct = default) =>
        Table.GetOrNullAsync<IdentifierRow>(EmailOwnerKey(emailHash), OwnerRow, ct);

    public Task<bool> TryAddEmailOwnerAsync(string emailHash, string accountId, DateTimeOffset now, CancellationToken ct = default) =>
        Table.TryAddAsync(new IdentifierRow { PartitionKey = EmailOwnerKey(emailHash), RowKey = OwnerRow, AccountId = accountId, CreatedAt = now }, ct);

    public Task<bool> TryRemoveAsync(IdentifierRow row, CancellationToken ct = default) => Table.TryDeleteAsync(row, ct);

    /// <summary>Gives up an address this account owned (email change, revert): the owner row goes only if it is this account's.</summary>
    public async Task ReleaseEmailOwnerAsync(string emailHash, string accountId, CancellationToken ct = default)
    {
        if (await GetEmailOwnerAsync(emailHash, ct) is { } row && row.AccountId == accountId) await TryRemoveAsync(row, ct);
    }

    public Task AddClaimAsync(string emailHash, string accountId, DateTimeOffset now, CancellationToken ct = default) =>
        Table.UpsertEntityAsync(new IdentifierRow { PartitionKey = EmailClaimKey(emailHash), RowKey = accountId, AccountId = accountId, CreatedAt = now },
            TableUpdateMode.Replace, ct);

    public Task RemoveClaimAsync(string emailHash, string accountId, CancellationToken ct = default) =>
        Table.DeleteIfExistsAsync(EmailClaimKey(emailHash), accountId, ct);

    public const string AdminsKey = "role-admin";

    /// <summary>Admins, indexed so approval emails need no scan of the accounts table.</summary>
    public Task AddAdminAsync(string accountId, DateTimeOffset now, CancellationToken ct = default) =>
        Table.UpsertEntityAsync(new IdentifierRow { PartitionKey = AdminsKey, RowKey = accountId, AccountId = accountId, CreatedAt = now },
            TableUpdateMode.Replace, ct);

    public Task RemoveAdminAsync(string accountId, CancellationToken ct = default) => Table.DeleteIfExistsAsync(AdminsKey, accountId, ct);

    public async Task<List<string>> ListAdminsAsync(CancellationToken ct = default)
    {
        var ids = new List<string>();
        await foreach (var row in Table.QueryAsync<IdentifierRow>(r => r.PartitionKey == AdminsKey, cancellationToken: ct)) ids.Add(row.AccountId);
        return ids;
    }

    public static string NumberKey(string numberHash) => "number-" + numberHash;

    public Task<bool> TryAddNumberAsync(string numberHash, string accountId, DateTimeOffset now, CancellationToken ct = default) =>
        Table.TryAddAsync(new IdentifierRow { PartitionKey = NumberKey(numberHash), RowKey = OwnerRow, AccountId = accountId, CreatedAt = now }, ct);

    /// <summary>Draws a new account number for the account: unique by AddEntity of its index row; a collision (1 in 10^15) draws again.</summary>
    public async Task<string> AddNewNumberAsync(string accountId, DateTimeOffset now, CancellationToken ct = default)
    {
        for (var attempt = 0; attempt <= 5; attempt++)
        {
            var number = AccountNumber.New();
            if (await TryAddNumberAsync(AccountNumber.Hash(number), accountId, now, ct)) return number;
        }
        throw new InvalidOperationException("Could not draw a free account number.");
    }

    public Task<IdentifierRow?> GetNumberOwnerAsync(string numberHash, CancellationToken ct = default) =>
        Table.GetOrNullAsync<IdentifierRow>(NumberKey(numberHash), OwnerRow, ct);

    /// <summary>The newest unverified claims on an address, newest first.</summary>
    public async Task<List<IdentifierRow>> ListClaimsAsync(string emailHash, int max, CancellationToken ct = default)
    {
        var pk = EmailClaimKey(emailHash);
        var rows = new List<IdentifierRow>();
        await foreach (var row in Table.QueryAsync<IdentifierRow>(r => r.PartitionKey == pk, cancellationToken: ct))
        {
            rows.Add(row);
            if (rows.Count >= 100) break; // bounded: claims are pruned when an address is verified
        }
        return rows.OrderByDescending(r => r.CreatedAt).Take(max).ToList();
    }
}
