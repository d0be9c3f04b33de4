namespace AccountFunctions.Core.External;

/// <summary>One provider login linked to an account (kept as JSON in <c>Account.ExternalLoginsJson</c>).</summary>
/// <param name="Subject">SHA-256 of the provider's <c>sub</c>, the same hash as in the index key.</param>
public sealed record ExternalLogin(string Provider, string Subject, DateTimeOffset LinkedAt);

/// <summary>What GET /api/me shows of a linked login.</summary>
public sealed record ExternalLoginView(string Provider, DateTimeOffset LinkedAt);
