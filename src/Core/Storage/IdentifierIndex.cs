using Azure;
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

    public static string ExternalKey(string subjectHash) => "external-" + subjectHash;

    /// <summary>The account a provider login (provider, subject) belongs to.</summary>
    public Task<IdentifierRow?> GetExternalOwnerAsync(string subjectHash, CancellationToken ct = default) =>
        Table.GetOrNullAsync<IdentifierRow>(ExternalKey(subjectHash), OwnerRow, ct);

    /// <summary>Links a provider login to an account: the insert is the lock, false when the login is taken.</summary>
    public Task<bool> TryAddExternalOwnerAsync(string subjectHash, string accountId, DateTimeOffset now, CancellationToken ct = default) =>
        Table.TryAddAsync(new IdentifierRow { PartitionKey = ExternalKey(subjectHash), RowKey = OwnerRow, AccountId = accountId, CreatedAt = now }, ct);

    /// <summary>Removes a provider login's row whatever its state.</summary>
    public Task RemoveExternalOwnerAsync(string subjectHash, CancellationToken ct = default) =>
        Table.DeleteIfExistsAsync(ExternalKey(subjectHash), OwnerRow, ct);

    /// <summary>Removes a provider login's row if it is still this account's.</summary>
    public async Task ReleaseExternalOwnerAsync(string subjectHash, string accountId, CancellationToken ct = default)
    {
        if (await GetExternalOwnerAsync(subjectHash, ct) is { } row && row.AccountId == accountId) await TryRemoveAsync(row, ct);
    }

    /// <summary>The owner row and the throttle row of one identifier partition (<c>email-…</c> or <c>number-…</c>), in one query.</summary>
    public async Task<(IdentifierRow? Owner, ThrottleRow? Throttle)> GetOwnerAndThrottleAsync(string partition, CancellationToken ct = default)
    {
        IdentifierRow? owner = null;
        ThrottleRow? throttle = null;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition}");
        await foreach (var e in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct))
        {
            if (e.RowKey == OwnerRow) owner = EntityMapper.To<IdentifierRow>(e);
            else if (e.RowKey == ThrottleRow.Row) throttle = EntityMapper.To<ThrottleRow>(e);
        }
        return (owner, throttle);
    }

    public Task<ThrottleRow?> GetThrottleAsync(string partition, CancellationToken ct = default) =>
        Table.GetOrNullAsync<ThrottleRow>(partition, ThrottleRow.Row, ct);

    /// <summary>Inserts a new throttle row, or replaces the one read with its ETag; false when a racer wrote first.</summary>
    public Task<bool> TryWriteThrottleAsync(ThrottleRow row, bool isNew, CancellationToken ct = default) =>
        isNew ? Table.TryAddAsync(row, ct) : Table.TryReplaceAsync(row, ct);
}

/// <summary>
/// Failed-login state of one identifier, RK <c>throttle</c> in the identifier's own partition of
/// the <c>identifiers</c> table (<c>email-{hash}</c> or <c>number-{hash}</c>), beside its owner row,
/// so one partition query answers both "who owns this" and "may it try". Written for identifiers
/// with no account too, so the throttle says nothing about existence.
/// </summary>
public sealed class ThrottleRow : ITableEntity
{
    public const string Row = "throttle";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    /// <summary>Failures in the current window (reset when the window ends or a block starts).</summary>
    public int Failures { get; set; }
    public DateTimeOffset WindowEnd { get; set; }
    /// <summary>Blocks in a row: each one lasts twice as long as the one before (growing back-off).</summary>
    public int Strikes { get; set; }
    public DateTimeOffset? LastStrikeAt { get; set; }
    public DateTimeOffset? BlockedUntil { get; set; }
}
