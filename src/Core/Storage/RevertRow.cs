using Azure;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Table <c>accounts</c>, PK account id, RK <c>revert-{token id}</c>: what a revert link (sent to
/// the old address when an email change is requested) restores. In the account's partition so it
/// commits with the change, and goes when the account is deleted. The link itself is an ordinary
/// link token (purpose <c>revert</c>); this row only says which address it gives back.
/// </summary>
public sealed class RevertRow : ITableEntity
{
    public const string Prefix = "revert-";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    /// <summary>The address as it was entered, to be restored.</summary>
    public string OldEmail { get; set; } = "";
    /// <summary>The account's RevertEpoch when issued: a revert in between makes this link dead.</summary>
    public int Epoch { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }

    public static string Key(string tokenId) => Prefix + tokenId;
}
