using System.Security.Cryptography;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core;

public sealed record Invite(string Code, DateTimeOffset ExpiresAt, string? Email);

public sealed class InviteService(TokensTable tokenRows, AccountsOptions options, TimeProvider time)
{
    // Crockford-style alphabet: no I, L, O, U, so codes survive being read aloud or retyped.
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public async Task<Result<Invite>> CreateAsync(string? email, CancellationToken ct = default)
    {
        if (email is not null && !EmailAddress.IsValid(email)) return Errors.Validation("email", "This is not a valid email address.");
        var bytes = RandomNumberGenerator.GetBytes(16);
        var code = string.Join('-', Enumerable.Range(0, 4).Select(g =>
            new string(Enumerable.Range(0, 4).Select(i => Alphabet[bytes[g * 4 + i] % 32]).ToArray())));
        var now = time.GetUtcNow();
        var row = new InviteRow
        {
            EmailHash = email is null ? null : EmailAddress.Hash(email),
            CreatedAt = now,
            ExpiresAt = now + options.InviteLifetime,
        };
        await tokenRows.AddInviteAsync(Canonical(code), row, ct);
        return new Invite(code, row.ExpiresAt, email?.Trim());
    }

    /// <summary>Checks an invite without using it (so bad signups do not burn codes).</summary>
    public async Task<Result<InviteRow>> CheckAsync(string? code, string? emailHash, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(code)) return Errors.InviteRequired;
        if (code.Length > 40) return Errors.InviteInvalid;
        var row = await tokenRows.GetInviteAsync(Canonical(code), ct);
        if (row is null || time.GetUtcNow() >= row.ExpiresAt) return Errors.InviteInvalid;
        if (row.EmailHash is not null && row.EmailHash != emailHash) return Errors.InviteInvalid;
        return row;
    }

    /// <summary>Uses the invite: of any number of racers, exactly one gets true.</summary>
    public Task<bool> ConsumeAsync(InviteRow row, CancellationToken ct = default) => tokenRows.TryConsumeInviteAsync(row, ct);

    /// <summary>Codes are compared without dashes, spaces or case.</summary>
    private static string Canonical(string code) =>
        new(code.Where(char.IsAsciiLetterOrDigit).Select(char.ToUpperInvariant).ToArray());
}
