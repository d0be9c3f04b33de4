using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Table <c>tokens</c>: single-use things, keyed so what a person holds finds them. Link tokens
/// (<see cref="LinkTokenRow"/>, PK the token id), 6-digit codes (<see cref="CodeRow"/>, PK
/// <c>code-{purpose}-{subject}</c>, RK the account), invites (<see cref="InviteRow"/>, PK
/// <c>invite-{sha256(code)}</c>), second-step tokens (<see cref="MfaTokenRow"/>, PK the token id,
/// with <c>try-{n}</c> rows) and external sign-in flows (<see cref="ExternalFlowRow"/>, PK
/// <c>oidc-{sha256(state)}</c>), each consumed by a marker row <c>~used-{version}</c> in its
/// partition (<see cref="TableResults.TryConsumeAsync"/>). Every key format of the table is here.
/// </summary>
public sealed class TokensTable(StorageContext storage)
{
    private TableClient Table => storage.Tokens;

    /// <summary>The partition of the codes sent for <paramref name="purpose"/> to <paramref name="subject"/> (a hash), one row per account.</summary>
    public static string CodesOf(string purpose, string subject) => $"code-{purpose}-{subject}";

    /// <summary>A code row is replaced in place on resend; its nonce tells the versions apart (marker <c>~used-{account}-{nonce}</c>).</summary>
    private static string CodeVersion(CodeRow row) => $"{row.RowKey}-{row.Nonce}";

    /// <summary>An invite's partition: the hash of its code in canonical form (the caller canonicalises).</summary>
    private static string InviteKey(string canonicalCode) => "invite-" + Sha256Hex(canonicalCode);

    /// <summary>A started external sign-in's partition: the hash of its state.</summary>
    private static string FlowKey(string state) => ExternalFlowRow.Prefix + Sha256Hex(state);

    private static string Sha256Hex(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(value)));

    // Link tokens.

    /// <summary>Inserts a new link row (its id is fresh random bits: a conflict is a bug, and throws).</summary>
    public Task AddLinkAsync(LinkTokenRow link, CancellationToken ct = default) => Table.AddEntityAsync(link, ct);

    public Task<LinkTokenRow?> GetLinkAsync(string tokenId, CancellationToken ct = default) =>
        Table.GetOrNullAsync<LinkTokenRow>(tokenId, LinkTokenRow.Row, ct);

    /// <summary>Single use of a link: of any number of racers exactly one gets true.</summary>
    public Task<bool> TryConsumeLinkAsync(LinkTokenRow link, CancellationToken ct = default) => Table.TryConsumeAsync(link, LinkTokenRow.Row, ct);

    /// <summary>Removes a link row whatever its state (its marker stays).</summary>
    public Task RemoveLinkAsync(string tokenId, CancellationToken ct = default) => Table.DeleteIfExistsAsync(tokenId, LinkTokenRow.Row, ct);

    /// <summary>Removes a link row and then its consumption marker.</summary>
    public async Task RemoveLinkAndMarkerAsync(string tokenId, CancellationToken ct = default)
    {
        await Table.DeleteIfExistsAsync(tokenId, LinkTokenRow.Row, ct);
        await Table.DeleteIfExistsAsync(tokenId, TableResults.MarkerPrefix + LinkTokenRow.Row, ct);
    }

    // Codes.

    /// <summary>Writes the account's code for a purpose and subject; replacing it is what makes an earlier code dead.</summary>
    public Task SetCodeAsync(string purpose, string subject, CodeRow code, CancellationToken ct = default)
    {
        code.PartitionKey = CodesOf(purpose, subject);
        return Table.UpsertEntityAsync(code, TableUpdateMode.Replace, ct);
    }

    public Task<CodeRow?> GetCodeAsync(string purpose, string subject, string accountId, CancellationToken ct = default) =>
        Table.GetOrNullAsync<CodeRow>(CodesOf(purpose, subject), accountId, ct);

    /// <summary>The code row as it is now (after a conflict), or null.</summary>
    public Task<CodeRow?> RereadCodeAsync(CodeRow row, CancellationToken ct = default) =>
        Table.GetOrNullAsync<CodeRow>(row.PartitionKey, row.RowKey, ct);

    /// <summary>The live codes sent for a purpose to a subject (markers excluded), at most <paramref name="max"/>.</summary>
    public Task<List<CodeRow>> ListCodesAsync(string purpose, string subject, int max, CancellationToken ct = default) =>
        ListCodesAsync(CodesOf(purpose, subject), max, ct);

    /// <summary>Single use of this version of a code (its nonce): of any number of racers exactly one gets true.</summary>
    public Task<bool> TryConsumeCodeAsync(CodeRow code, CancellationToken ct = default) => Table.TryConsumeAsync(code, CodeVersion(code), ct);

    /// <summary>Removes the account's code row for a purpose and subject (its markers stay).</summary>
    public Task RemoveCodeAsync(string purpose, string subject, string accountId, CancellationToken ct = default) =>
        Table.DeleteIfExistsAsync(CodesOf(purpose, subject), accountId, ct);

    /// <summary>The account's code row for a purpose and subject and its consumption markers.</summary>
    public Task RemoveCodesAsync(string purpose, string subject, string accountId, CancellationToken ct = default) =>
        RemoveCodesAsync(CodesOf(purpose, subject), accountId, ct);

    /// <summary>
    /// The account's code row in a code partition (as a token index row remembers it) and its
    /// consumption markers (<c>~used-{account id}-{nonce}</c>).
    /// </summary>
    public async Task RemoveCodesAsync(string codePartition, string accountId, CancellationToken ct = default)
    {
        await Table.DeleteIfExistsAsync(codePartition, accountId, ct);
        await RemoveRangeAsync(codePartition, TableResults.MarkerPrefix + accountId + "-", TableResults.MarkerPrefix + accountId + ".", ct);
    }

    // Invites.

    public Task AddInviteAsync(string canonicalCode, InviteRow invite, CancellationToken ct = default)
    {
        invite.PartitionKey = InviteKey(canonicalCode);
        return Table.AddEntityAsync(invite, ct);
    }

    public Task<InviteRow?> GetInviteAsync(string canonicalCode, CancellationToken ct = default) =>
        Table.GetOrNullAsync<InviteRow>(InviteKey(canonicalCode), InviteRow.Row, ct);

    /// <summary>Uses the invite: of any number of racers, exactly one gets true.</summary>
    public Task<bool> TryConsumeInviteAsync(InviteRow invite, CancellationToken ct = default) => Table.TryConsumeAsync(invite, InviteRow.Row, ct);

    // Second-step (MFA) tokens.

    /// <summary>Inserts a new mfaToken row (its id is fresh random bits: a conflict is a bug, and throws).</summary>
    public Task AddMfaTokenAsync(MfaTokenRow token, CancellationToken ct = default) => Table.AddEntityAsync(token, ct);

    public Task<MfaTokenRow?> GetMfaTokenAsync(string tokenId, CancellationToken ct = default) =>
        Table.GetOrNullAsync<MfaTokenRow>(tokenId, MfaTokenRow.Row, ct);

    /// <summary>Removes an mfaToken row whatever its state (its tries are spent); its try rows stay.</summary>
    public Task RemoveMfaTokenAsync(string tokenId, CancellationToken ct = default) => Table.DeleteIfExistsAsync(tokenId, MfaTokenRow.Row, ct);

    /// <summary>How many <c>try-{n}</c> rows the token has, and whether it was consumed (one query of its partition).</summary>
    public async Task<(int Tries, bool Consumed)> CountTriesAsync(string tokenId, CancellationToken ct = default)
    {
        var (tries, consumed) = (0, false);
        foreach (var key in await ListKeysFromAsync(tokenId, MfaTokenRow.TryPrefix, ct))
        {
            if (key.StartsWith(MfaTokenRow.TryPrefix, StringComparison.Ordinal)) tries++;
            else if (key.StartsWith(TableResults.MarkerPrefix, StringComparison.Ordinal)) consumed = true;
        }
        return (tries, consumed);
    }

    /// <summary>Inserts the token's <c>try-{n}</c> row: the insert is the lock, false when try <paramref name="n"/> is taken.</summary>
    public Task<bool> ReserveTryAsync(string tokenId, int n, DateTimeOffset at, CancellationToken ct = default) =>
        TryAddMarkerAsync(tokenId, MfaTokenRow.TryPrefix + n, "At", at, ct);

    // External sign-in flows.

    /// <summary>Inserts a started external sign-in under its state (fresh random bits: a conflict is a bug, and throws).</summary>
    public Task AddFlowAsync(string state, ExternalFlowRow flow, CancellationToken ct = default)
    {
        flow.PartitionKey = FlowKey(state);
        return Table.AddEntityAsync(flow, ct);
    }

    public Task<ExternalFlowRow?> GetFlowAsync(string state, CancellationToken ct = default) =>
        Table.GetOrNullAsync<ExternalFlowRow>(FlowKey(state), ExternalFlowRow.Row, ct);

    /// <summary>Single use of a started flow: of any number of racers exactly one gets true.</summary>
    public Task<bool> TryConsumeFlowAsync(ExternalFlowRow flow, CancellationToken ct = default) => Table.TryConsumeAsync(flow, ExternalFlowRow.Row, ct);

    // General.

    /// <summary>The live code rows of a code partition (markers excluded), at most <paramref name="max"/>.</summary>
    private async Task<List<CodeRow>> ListCodesAsync(string partition, int max, CancellationToken ct = default)
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

    /// <summary>Single use of a row read from this table, by version (RK <c>~used-{version}</c>): of any number of racers exactly one gets true (TableResults.TryConsumeAsync).</summary>
    public Task<bool> TryConsumeAsync(ITableEntity row, string version, CancellationToken ct = default) => Table.TryConsumeAsync(row, version, ct);

    /// <summary>Writes a row with the ETag it was read with (a wrong code's try counted).</summary>
    public Task<bool> TryReplaceAsync(ITableEntity row, CancellationToken ct = default) => Table.TryReplaceAsync(row, ct);

    /// <summary>Deletes a row if it is still the version that was read (a code's last try).</summary>
    public Task<bool> TryDeleteAsync(ITableEntity row, CancellationToken ct = default) => Table.TryDeleteAsync(row, ct);

    /// <summary>Removes the rows of a partition whose keys fall in [from, to).</summary>
    private async Task RemoveRangeAsync(string partition, string from, string to, CancellationToken ct = default)
    {
        var keys = new List<string>();
        await foreach (var m in Table.QueryAsync<TableEntity>(
            e => e.PartitionKey == partition && e.RowKey.CompareTo(from) >= 0 && e.RowKey.CompareTo(to) < 0, select: ["RowKey"], cancellationToken: ct))
            keys.Add(m.RowKey);
        foreach (var key in keys) await Table.DeleteIfExistsAsync(partition, key, ct);
    }

    /// <summary>The row keys of a partition from <paramref name="from"/> on (attempt rows and markers beside a token).</summary>
    private async Task<List<string>> ListKeysFromAsync(string partition, string from, CancellationToken ct = default)
    {
        var keys = new List<string>();
        await foreach (var e in Table.QueryAsync<TableEntity>(
            e => e.PartitionKey == partition && e.RowKey.CompareTo(from) >= 0, select: ["RowKey"], cancellationToken: ct))
            keys.Add(e.RowKey);
        return keys;
    }

    /// <summary>Inserts a row that only says "this happened at": the insert is the lock, false when it exists.</summary>
    private Task<bool> TryAddMarkerAsync(string partition, string rowKey, string property, DateTimeOffset at, CancellationToken ct = default) =>
        Table.TryAddAsync(new TableEntity(partition, rowKey) { [property] = at }, ct);
}

/// <summary>
/// Table <c>tokens</c>, PK <c>invite-{sha256(code)}</c>, RK <c>invite</c>. Only the code's hash is
/// stored; consumed by a marker insert (TryConsumeAsync), so one code admits exactly one signup.
/// </summary>
public sealed class InviteRow : ITableEntity
{
    public const string Row = "invite";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    /// <summary>Hash of the address it is bound to, if any.</summary>
    public string? EmailHash { get; set; }
    // Who created it is in the audit trail (invite_created), which a deleted admin's pseudonym
    // reaches; a copy here, keyed by code hash, could not be found to remove.
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>
/// Table <c>tokens</c>, PK = token id (128 random bits, base64url), RK <c>mfa</c>: the second step
/// of a sign-in. Only SHA-256 of the token's secret is stored. The same partition holds the
/// consumption marker (<c>~used-mfa</c>) and one <c>try-{n}</c> row per code tried (n = 1..5):
/// each try inserts its row first, so at most five codes are ever checked against one token,
/// however many requests race.
/// </summary>
public sealed class MfaTokenRow : ITableEntity
{
    public const string Row = "mfa";
    public const string TryPrefix = "try-";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string AccountId { get; set; } = "";
    public string SecretHash { get; set; } = "";
    public bool RememberMe { get; set; }
    public bool UseCookie { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>The token's id: its partition.</summary>
    [System.Runtime.Serialization.IgnoreDataMember] public string TokenId { get => PartitionKey; init => PartitionKey = value; }
}

/// <summary>
/// Table <c>tokens</c>, PK <c>oidc-{sha256(state)}</c>, RK <c>flow</c>: one started external sign-in,
/// consumed once at the callback (TableResults.TryConsumeAsync). The PKCE verifier and the nonce are
/// not stored: both are derived from the state with the token key (see ExternalLoginService), so the
/// row alone is useless. <see cref="BrowserHash"/> is SHA-256 of the random value in the browser's
/// <c>__Host-external</c> cookie: the callback must come from the browser that started the flow.
/// </summary>
public sealed class ExternalFlowRow : ITableEntity
{
    public const string Prefix = "oidc-";
    public const string Row = "flow";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Provider { get; set; } = "";
    public string ReturnUrl { get; set; } = "";
    public string BrowserHash { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
}
