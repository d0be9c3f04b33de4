using Azure;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Mfa;

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
