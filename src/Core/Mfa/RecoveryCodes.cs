using System.Security.Cryptography;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Mfa;

/// <summary>
/// Ten single-use recovery codes per setup, shown once. Each is 16 characters from a 32-symbol
/// alphabet (80 bits from the CSPRNG), shown as <c>xxxx-xxxx-xxxx-xxxx</c>; case, dashes and
/// spaces do not matter when typed. Stored only as SHA-256(account id : code) in the row key
/// (a plain hash is enough for 80 random bits). Used once through a consumption marker.
/// </summary>
public sealed class RecoveryCodes(AccountsTable accounts)
{
    public const int Count = 10;
    public const int Length = 16;
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford's: no i, l, o, u

    public static (List<string> Codes, List<RecoveryCodeRow> Rows) New(string accountId, string set, DateTimeOffset now)
    {
        var codes = new List<string>();
        var rows = new List<RecoveryCodeRow>();
        while (codes.Count < Count)
        {
            var raw = RandomNumberGenerator.GetString(Alphabet, Length);
            var row = RecoveryCodeRow.For(accountId, raw, set, now);
            if (rows.Any(r => r.RowKey == row.RowKey)) continue; // 2^-80; but ten distinct codes is the promise
            rows.Add(row);
            codes.Add(string.Join('-', raw.Chunk(4).Select(c => new string(c))));
        }
        return (codes, rows);
    }

    /// <summary>The unused row for a typed code of the account's current set, or null.</summary>
    public async Task<RecoveryCodeRow?> FindAsync(Account account, string typed, CancellationToken ct)
    {
        var normalized = Normalize(typed);
        if (normalized is null || account.RecoveryCodeSet is null) return null;
        var row = await accounts.GetRowAsync<RecoveryCodeRow>(account.Id, RecoveryCodeRow.Key(account.Id, normalized), ct);
        return row?.Set == account.RecoveryCodeSet ? row : null;
    }

    /// <summary>Of any number of racers with one code, exactly one gets true.</summary>
    public Task<bool> UseAsync(RecoveryCodeRow row, CancellationToken ct) => accounts.TryConsumeAsync(row, row.RowKey, ct);

    /// <summary>Removes every recovery row of the account (they are dead already once the set is cleared).</summary>
    public Task DeleteAllAsync(string accountId, CancellationToken ct) => accounts.RemoveAllAsync(accountId, RecoveryCodeRow.Prefix, ct);

    private static string? Normalize(string typed)
    {
        var s = new string(typed.Where(c => c is not ('-' or ' ')).ToArray()).ToLowerInvariant();
        return s.Length == Length && s.All(Alphabet.Contains) ? s : null;
    }
}
