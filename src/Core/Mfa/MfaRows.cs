using Azure;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Mfa;

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
}
