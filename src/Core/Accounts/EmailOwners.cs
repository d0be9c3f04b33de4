using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core;

/// <summary>
/// Who owns an email address: the owner row in <see cref="IdentifierIndex"/>, believed only when
/// the account it names has verified that very address (a row can outlive an email change or a
/// crash between the index write and the account write).
/// </summary>
public sealed class EmailOwners(IdentifierIndex identifiers, AccountsTable accounts, TimeProvider time)
{
    /// <summary>How old an owner row whose account never finished verifying must be before another account takes it over.</summary>
    public static readonly TimeSpan StaleOwnerAge = TimeSpan.FromMinutes(2);

    /// <summary>The account that verified this address, if any (ignoring a stale index row).</summary>
    public async Task<Account?> OwnerAsync(string emailHash, CancellationToken ct)
    {
        var row = await identifiers.GetEmailOwnerAsync(emailHash, ct);
        if (row is null) return null;
        var account = await accounts.GetAsync(row.AccountId, ct);
        return account is { EmailVerified: true, Email: not null } && EmailAddress.Hash(account.Email) == emailHash ? account : null;
    }

    /// <summary>
    /// True when this account now owns the address (or already did): inserting the owner row is
    /// the lock, first to verify wins. Used by verification and by an email revert.
    /// </summary>
    public async Task<bool> ClaimAsync(string accountId, string subject, CancellationToken ct)
    {
        var owns = false;
        await Optimistic.TryRetryAsync(async _ =>
        {
            if (await identifiers.TryAddEmailOwnerAsync(subject, accountId, time.GetUtcNow(), ct)) return owns = true;
            var row = await identifiers.GetEmailOwnerAsync(subject, ct);
            if (row is null) return false;
            if (row.AccountId == accountId) return owns = true;
            var other = await accounts.GetAsync(row.AccountId, ct);
            if (other is { EmailVerified: true, Email: not null } && EmailAddress.Hash(other.Email) == subject) return true;
            // The row's account is gone, or never finished verifying: repair once it is stale.
            if (other is not null && time.GetUtcNow() - row.CreatedAt < StaleOwnerAge) return true;
            await identifiers.TryRemoveAsync(row, ct);
            return false;
        }, ct);
        return owns;
    }
}
