using Azure;
using Azure.Data.Tables;

namespace AccountFunctions.Core.External;

/// <summary>
/// Table <c>tokens</c>, PK <c>oidc-{sha256(state)}</c>, RK <c>flow</c>: one started external sign-in,
/// consumed once at the callback (TableResults.TryConsumeAsync). The PKCE verifier and the nonce are
/// not stored: both are derived from the state with the token key (see ExternalLoginService), so the
/// row alone is useless. <see cref="BrowserHash"/> is SHA-256 of the random value in the browser's
/// <c>__Host-external</c> cookie: the callback must come from the browser that started the flow.
/// </summary>
public sealed class ExternalFlowRow : ITableEntity
{
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

/// <summary>One provider login linked to an account (kept as JSON in <c>Account.ExternalLoginsJson</c>).</summary>
/// <param name="Subject">SHA-256 of the provider's <c>sub</c>, the same hash as in the index key.</param>
public sealed record ExternalLogin(string Provider, string Subject, DateTimeOffset LinkedAt);

/// <summary>What GET /api/me shows of a linked login.</summary>
public sealed record ExternalLoginView(string Provider, DateTimeOffset LinkedAt);
