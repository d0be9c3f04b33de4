using Azure;
using Azure.Data.Tables;
using System.Security.Cryptography;
using System.Text;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Table <c>identifiers</c>: who owns or claims an identifier. Keys hold only hashes.
/// <list type="bullet">
/// <item>PK <c>email-{sha256(normalised email)}</c>, RK <c>owner</c>: the one account that verified it (inserted with AddEntity: the insert is the lock).</item>
/// <item>PK <c>claim-{hash}</c>, RK account id: an unverified claim; many may exist.</item>
/// <item>PK <c>number-{sha256(account number)}</c>, RK <c>owner</c>: account numbers.</item>
/// </list>
/// </summary>
public sealed class IdentifierRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string AccountId { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// Table <c>tokens</c>, PK = token id (random, 128 bits), RK <c>link</c>. The secret half of
/// the link is derived from the id with the server's token key (see TokenKeys), and only its
/// SHA-256 is stored, so neither this row nor the outbox holds a usable token.
/// </summary>
public sealed class LinkTokenRow : ITableEntity
{
    public const string Row = "link";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Purpose { get; set; } = "";
    public string AccountId { get; set; } = "";
    /// <summary>Hash of what the token is about (e.g. the email being verified).</summary>
    public string Subject { get; set; } = "";
    public string SecretHash { get; set; } = "";
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>The token's id: its partition.</summary>
    [System.Runtime.Serialization.IgnoreDataMember] public string TokenId { get => PartitionKey; init => PartitionKey = value; }
}

/// <summary>
/// Table <c>accounts</c>, PK account id, RK <c>token-{expiry ticks}-{token id}</c>: the account's
/// link tokens, so deleting the account can find its <c>tokens</c> rows (keyed by token id), and
/// issuing a new one can prune the expired ones (a range query: the expiry leads the key).
/// </summary>
public sealed class TokenIndexRow : ITableEntity
{
    public const string Prefix = "token-";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string TokenId { get; set; } = "";
    /// <summary>
    /// The partition of the code issued with the link (<c>code-{purpose}-{subject}</c>, RK the account
    /// id), so deleting the account finds it whatever address it was for. Null for links without a code.
    /// </summary>
    public string? CodePartition { get; set; }

    public static string Key(DateTimeOffset expiresAt, string tokenId) => $"{Prefix}{expiresAt.UtcTicks:D19}-{tokenId}";

    /// <summary>The index row of a link token of the account that expires at <paramref name="expiresAt"/>.</summary>
    public static TokenIndexRow For(string accountId, DateTimeOffset expiresAt, string tokenId, string? codePartition) =>
        new() { PartitionKey = accountId, RowKey = Key(expiresAt, tokenId), TokenId = tokenId, CodePartition = codePartition };
}

/// <summary>
/// Table <c>tokens</c>, PK <c>code-{purpose}-{subject hash}</c>, RK account id: the 6-digit code
/// sent with a link. Looked up by what the person types (email + code); replaced when a new
/// code is issued; counts wrong tries with ETag updates and dies at zero.
/// </summary>
public sealed class CodeRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    /// <summary>Random; the code is HMAC(token key, nonce) reduced to 6 digits.</summary>
    public string Nonce { get; set; } = "";
    public int AttemptsLeft { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    /// <summary>The link token issued with this code: both belong to one grant.</summary>
    public string Grant { get; set; } = "";
    /// <summary>The account the code was sent for: its row key.</summary>
    [System.Runtime.Serialization.IgnoreDataMember] public string AccountId { get => RowKey; init => RowKey = value; }
}

/// <summary>Table <c>keys</c>: keys generated for development when none is configured.</summary>
public sealed class KeyRow : ITableEntity
{
    public string PartitionKey { get; set; } = "key";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Value { get; set; } = "";
}

/// <summary>
/// Table <c>accounts</c>, PK account id, RK <c>session-{session id}</c>: one per sign-in. The
/// refresh token is derived from (session id, generation, salt) with the token key; nothing
/// usable is stored.
/// </summary>
public sealed class SessionRow : ITableEntity
{
    public const string Prefix = "session-";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Salt { get; set; } = "";
    /// <summary>The account's SessionEpoch when the session began; another epoch: the session is dead.</summary>
    public int Epoch { get; set; }
    public int Generation { get; set; }
    public DateTimeOffset? RotatedAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset LastUsedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public bool RememberMe { get; set; }
    public string? UserAgent { get; set; }
    public string? IpAddress { get; set; }
    [System.Runtime.Serialization.IgnoreDataMember] public string AccountId => PartitionKey;
    [System.Runtime.Serialization.IgnoreDataMember] public string SessionId => RowKey[Prefix.Length..];

    public static string Key(string sessionId) => Prefix + sessionId;
}

/// <summary>
/// Table <c>accounts</c>, PK account id, RK <c>outbox-{message id}</c>: an email to send, written
/// before its queue message (in the same transaction as the account change that causes it).
/// </summary>
public sealed class OutboxRow : ITableEntity
{
    public const string Prefix = "outbox-";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Template { get; set; } = "";
    public string To { get; set; } = "";
    public string? ToName { get; set; }
    public string ModelJson { get; set; } = "{}";
    /// <summary>Link token to materialise into the email at send time (never stored in the clear).</summary>
    public string? TokenId { get; set; }
    public string? CodeNonce { get; set; }
    public string Status { get; set; } = OutboxStatus.Pending;
    public DateTimeOffset? LeaseUntil { get; set; }
    public DateTimeOffset? SentAt { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    [System.Runtime.Serialization.IgnoreDataMember] public string AccountId => PartitionKey;
    [System.Runtime.Serialization.IgnoreDataMember] public string MessageId => RowKey[Prefix.Length..];
}

public static class OutboxStatus
{
    public const string Pending = "pending";
    public const string Sending = "sending";
    public const string Sent = "sent";
}

/// <summary>
/// Table <c>due</c>: what a sweep must look at, found by time instead of by scanning accounts.
/// PK <c>{kind}-{yyyyMMddHH}-{shard}</c> (the hour it falls due, and one of 16 shards from a hash
/// of the RK, so one hour's writes spread over 16 partitions), RK what it is about. The sweep reads
/// only partitions up to the current hour (one PK range), so its cost follows what is due, not the table size.
/// <list type="bullet">
/// <item><c>deadline-…</c>, RK account id: an email confirmation deadline.</item>
/// <item><c>outbox-…</c>, RK <c>{account id}-{message id}</c>: an email not yet confirmed sent.</item>
/// </list>
/// </summary>
public sealed class DueRow : ITableEntity
{
    public const string Deadline = "deadline";
    public const string Outbox = "outbox";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public DateTimeOffset DueAt { get; set; }
    public int Replays { get; set; }

    /// <summary>Shards per hour and kind: the first hex digit of SHA-256(RowKey), <c>0</c>..<c>f</c>.</summary>
    public const int Shards = 16;

    /// <summary>
    /// <c>{kind}-{yyyyMMddHH}-{shard}</c>. The shard spreads one hour's rows over 16 partitions and
    /// depends only on the row key, so whoever knows (kind, due time, row key) can find the row.
    /// </summary>
    public static string Partition(string kind, DateTimeOffset at, string rowKey) =>
        $"{HourPrefix(kind, at)}{Shard(rowKey)}";

    /// <summary>The shard of a row key: one lower-case hex digit, stable across processes and versions.</summary>
    public static char Shard(string rowKey) =>
        "0123456789abcdef"[SHA256.HashData(Encoding.UTF8.GetBytes(rowKey))[0] >> 4];

    /// <summary>
    /// The largest partition key of <paramref name="kind"/> due in the hour of <paramref name="at"/>:
    /// <c>{kind}-{yyyyMMddHH}-~</c> sorts after every shard of that hour (and after a legacy unsharded
    /// <c>{kind}-{yyyyMMddHH}</c>) and before the next hour, so one PK range reads them all.
    /// </summary>
    public static string UpperBound(string kind, DateTimeOffset at) => HourPrefix(kind, at) + "~";

    private static string HourPrefix(string kind, DateTimeOffset at) => $"{kind}-{at.UtcDateTime:yyyyMMddHH}-";

    public static DueRow For(string kind, string rowKey, DateTimeOffset dueAt) =>
        new() { PartitionKey = Partition(kind, dueAt, rowKey), RowKey = rowKey, DueAt = dueAt };
}

/// <summary>
/// Table <c>accounts</c>, PK account id, RK <c>mfa-recovery-{sha256(account id : code)}</c>: one
/// unused recovery code. <see cref="Set"/> must equal <c>Account.RecoveryCodeSet</c>, so codes of
/// an earlier setup are dead even if a row survived. Used once through a consumption marker.
/// </summary>
public sealed class RecoveryCodeRow : ITableEntity
{
    public const string Prefix = "mfa-recovery-";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Set { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The row of a code (normalised: lower case, no dashes) of the account: only SHA-256(account id : code) is kept, in the key.</summary>
    public static RecoveryCodeRow For(string accountId, string normalizedCode, string set, DateTimeOffset createdAt) =>
        new() { PartitionKey = accountId, RowKey = Key(accountId, normalizedCode), Set = set, CreatedAt = createdAt };

    public static string Key(string accountId, string normalizedCode) =>
        Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(accountId + ":" + normalizedCode)));
}
