using System.Security.Cryptography;
using System.Text;
using AccountFunctions.Core.Storage;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Security;

public static class TokenPurpose
{
    public const string Verify = "verify";
    public const string Magic = "magic";
    public const string Reset = "reset";
    public const string Revert = "revert";
    /// <summary>The code a passwordless account gets at its current address before changing it.</summary>
    public const string EmailChange = "email-change";
    /// <summary>The one-time code an external sign-in hands to the returnUrl, exchanged for a session.</summary>
    public const string External = "external";
}

/// <summary>One link token and its 6-digit code, issued together.</summary>
public sealed record Grant(string TokenId, string CodeNonce);

/// <summary>What a redeemed link or code was for: the account, the grant (the link's id), the subject hash.</summary>
public sealed record Redeemed(string AccountId, string Grant, string Subject);

/// <summary>
/// Single-use link tokens (<c>{id}.{secret}</c>) and 6-digit codes. Redemption reads the row,
/// checks it in constant time, then consumes it (TableResults.TryConsumeAsync: a marker insert) before
/// the caller's side effect, so of any number of racers exactly one wins.
/// </summary>
public sealed class OneTimeTokens(TokensTable tokenRows, AccountsTable accounts, TokenKeys keys, RateLimiter limiter, SecurityOptions security,
    TimeProvider time)
{
    public const int CodeAttempts = 5;
    /// <summary>The per-address limit of wrong codes across codes (RateLimiter, SecurityOptions.CodeTriesPerAddress).</summary>
    public const string CodeTriesLimit = "code-tries";

    /// <summary>Writes a link row and (re)places the account's code for this purpose and subject.</summary>
    public async Task<Grant> IssueAsync(string purpose, string accountId, string subject, TimeSpan lifetime, CancellationToken ct = default)
    {
        var (link, _) = await NewLinkAsync(purpose, accountId, subject, lifetime, ct, TokensTable.CodesOf(purpose, subject));
        var code = new CodeRow
        {
            AccountId = accountId,
            Nonce = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            AttemptsLeft = CodeAttempts,
            ExpiresAt = link.ExpiresAt,
            Grant = link.TokenId,
        };
        // Replacing the code row is what makes an earlier code dead.
        await Task.WhenAll(tokenRows.AddLinkAsync(link, ct), tokenRows.SetCodeAsync(purpose, subject, code, ct));
        return new Grant(link.TokenId, code.Nonce);
    }

    /// <summary>
    /// A link token alone, without a 6-digit code, returned as its token string: for tokens that
    /// only ever travel in a URL (the external sign-in's exchange code). Redeemed with RedeemLinkAsync.
    /// </summary>
    public async Task<string> IssueLinkAsync(string purpose, string accountId, string subject, TimeSpan lifetime, CancellationToken ct = default)
    {
        var (link, secret) = await NewLinkAsync(purpose, accountId, subject, lifetime, ct);
        await tokenRows.AddLinkAsync(link, ct);
        return link.TokenId + "." + Base64UrlEncoder.Encode(secret);
    }

    /// <summary>
    /// A new link row (not yet written) and its secret. Its index row is written first, so no link
    /// row exists that deleting the account could not find; expired links of the account are
    /// pruned meanwhile.
    /// </summary>
    private async Task<(LinkTokenRow Link, byte[] Secret)> NewLinkAsync(string purpose, string accountId, string subject, TimeSpan lifetime,
        CancellationToken ct, string? codePartition = null)
    {
        var now = time.GetUtcNow();
        var tokenId = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var secret = await SecretAsync(tokenId);
        var link = new LinkTokenRow
        {
            TokenId = tokenId,
            Purpose = purpose,
            AccountId = accountId,
            Subject = subject,
            SecretHash = Convert.ToBase64String(SHA256.HashData(secret)),
            ExpiresAt = now + lifetime,
            CreatedAt = now,
        };
        var index = TokenIndexRow.For(accountId, link.ExpiresAt, tokenId, codePartition);
        await Task.WhenAll(accounts.SetAsync(index, ct), PruneExpiredAsync(accountId, now, ct));
        return (link, secret);
    }

    /// <summary>
    /// Removes a link token (used or not), its consumption marker, and then its index row; with
    /// <paramref name="withCode"/> (the account is going) also the code row the link was issued with
    /// and that code's consumption markers, whichever grant the code row holds now.
    /// </summary>
    public async Task RemoveLinkAsync(TokenIndexRow index, CancellationToken ct = default, bool withCode = false)
    {
        await tokenRows.RemoveLinkAndMarkerAsync(index.TokenId, ct);
        if (withCode && index.CodePartition is { Length: > 0 } partition) await tokenRows.RemoveCodesAsync(partition, index.PartitionKey, ct);
        await accounts.RemoveAsync(index.PartitionKey, index.RowKey, ct);
    }

    /// <summary>An account's code row for a purpose and subject and its consumption markers.</summary>
    public Task RemoveCodesAsync(string purpose, string subject, string accountId, CancellationToken ct = default) =>
        tokenRows.RemoveCodesAsync(purpose, subject, accountId, ct);

    private async Task PruneExpiredAsync(string accountId, DateTimeOffset now, CancellationToken ct)
    {
        // Bounded: the next issue prunes on.
        foreach (var row in await accounts.ListExpiredTokenIndexAsync(accountId, now, 20, ct)) await RemoveLinkAsync(row, ct);
    }

    /// <summary>The token string that goes into an email link.</summary>
    public async Task<string> MaterializeAsync(string tokenId) =>
        tokenId + "." + Base64UrlEncoder.Encode(await SecretAsync(tokenId));

    public Task<string> CodeAsync(string nonce) => keys.CodeAsync(nonce);

    /// <summary>
    /// Consumes either a link token or an (email, code) pair sent with it: the two ways a person
    /// answers one email. Anything else is a validation problem; a bad token or code is invalid_token.
    /// </summary>
    public async Task<Result<Redeemed>> RedeemAsync(string purpose, string? token, string? email, string? code, CancellationToken ct = default)
    {
        if (token is not null)
        {
            var link = await RedeemLinkAsync(purpose, token, ct);
            return link.Ok ? new Redeemed(link.Value!.AccountId, link.Value.TokenId, link.Value.Subject) : link.Error!;
        }
        if (email is null || code is null) return Errors.Validation("token", "Send either a token, or an email and a code.");
        if (!EmailAddress.IsValid(email)) return Errors.InvalidToken;
        var subject = EmailAddress.Hash(email);
        var row = await RedeemCodeAsync(purpose, subject, code, ct);
        return row.Ok ? new Redeemed(row.Value!.AccountId, row.Value.Grant, subject) : row.Error!;
    }

    /// <summary>
    /// The row of a valid link token (right purpose, secret matches in constant time, not expired),
    /// without consuming it: for checks that must pass before the token is spent.
    /// </summary>
    public async Task<LinkTokenRow?> PeekLinkAsync(string purpose, string? token, CancellationToken ct = default)
    {
        if (!TryParse(token, out var tokenId, out var secret)) return null;
        var row = await tokenRows.GetLinkAsync(tokenId, ct);
        if (row is null || row.Purpose != purpose) return null;
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(secret), Convert.FromBase64String(row.SecretHash))) return null;
        return time.GetUtcNow() < row.ExpiresAt ? row : null;
    }

    /// <summary>Consumes a link token of the given purpose, or answers invalid_token.</summary>
    public async Task<Result<LinkTokenRow>> RedeemLinkAsync(string purpose, string? token, CancellationToken ct = default)
    {
        if (await PeekLinkAsync(purpose, token, ct) is not { } row) return Errors.InvalidToken;
        var tokenId = row.TokenId;
        if (!await tokenRows.TryConsumeLinkAsync(row, ct)) return Errors.InvalidToken;
        // The code sent with this link dies with it (only if it still belongs to the same grant).
        var code = await tokenRows.GetCodeAsync(purpose, row.Subject, row.AccountId, ct);
        if (code is not null && code.Grant == tokenId) await tokenRows.TryConsumeCodeAsync(code, ct);
        return row;
    }

    /// <summary>
    /// Consumes the code matching (purpose, subject, code). Every try is counted before the code is
    /// checked (issue 23), so guesses in flight together cannot outnumber the tries: first one of
    /// the address's wrong codes for the day (across codes and purposes: resends do not multiply
    /// the guesses), then one try of every live code of the subject; only a code whose try this
    /// request took is compared. A right code gives the address's try back; at zero a code is dead.
    /// Unknown addresses take the same per-address try, so they answer alike.
    /// </summary>
    public async Task<Result<CodeRow>> RedeemCodeAsync(string purpose, string subject, string? code, CancellationToken ct = default)
    {
        if (code is null || code.Length != 6 || !code.All(char.IsAsciiDigit)) return Errors.InvalidToken;
        var perAddress = await limiter.ReserveAsync(CodeTriesLimit, subject, security.CodeTriesPerAddress, security.CodeTriesWindow, ct);
        if (!perAddress.Allowed) return Errors.TooManyRequests(perAddress.RetryAfter);
        var rows = await tokenRows.ListCodesAsync(purpose, subject, 20, ct);
        var reserved = new List<CodeRow>();
        foreach (var candidate in rows)
            if (await TakeTryAsync(candidate, ct) is { } taken) reserved.Add(taken);
        var presented = Encoding.ASCII.GetBytes(code);
        foreach (var row in reserved)
        {
            var expected = Encoding.ASCII.GetBytes(await keys.CodeAsync(row.Nonce));
            if (!CryptographicOperations.FixedTimeEquals(presented, expected)) continue;
            if (!await tokenRows.TryConsumeCodeAsync(row, ct)) continue; // used already
            await tokenRows.RemoveLinkAsync(row.Grant, ct);
            await limiter.ReleaseAsync(perAddress, ct);
            return row;
        }
        // A code whose last try this was is dead: its row goes (as before; a racer may have replaced it).
        foreach (var row in reserved)
            if (row.AttemptsLeft <= 0) await tokenRows.TryDeleteAsync(row, ct);
        return Errors.InvalidToken;
    }

    /// <summary>
    /// Takes one try of a live code with the ETag read (racers retry with back-off); the row as
    /// written, or null when the code is dead, expired, replaced, or could not be counted.
    /// </summary>
    private async Task<CodeRow?> TakeTryAsync(CodeRow row, CancellationToken ct)
    {
        var nonce = row.Nonce;
        CodeRow? taken = null;
        await Optimistic.TryRetryAsync(async _ =>
        {
            if (row.AttemptsLeft <= 0 || time.GetUtcNow() >= row.ExpiresAt) return true;
            row.AttemptsLeft--;
            if (await tokenRows.TryReplaceAsync(row, ct))
            {
                taken = row;
                return true;
            }
            var fresh = await tokenRows.RereadCodeAsync(row, ct);
            if (fresh is null || fresh.Nonce != nonce) return true;
            row = fresh;
            return false;
        }, ct);
        return taken;
    }

    private Task<byte[]> SecretAsync(string tokenId) => keys.MacAsync("link", tokenId);

    private static bool TryParse(string? token, out string tokenId, out byte[] secret)
    {
        tokenId = ""; secret = [];
        if (token is null || token.Length > 200) return false;
        var dot = token.IndexOf('.');
        if (dot != 22 || token.Length != 22 + 1 + 43) return false;
        tokenId = token[..dot];
        if (!tokenId.All(IsBase64Url) || !token[(dot + 1)..].All(IsBase64Url)) return false;
        try
        {
            secret = Base64UrlEncoder.DecodeBytes(token[(dot + 1)..]);
        }
        catch (FormatException)
        {
            return false;
        }
        return secret.Length == 32;
    }

    private static bool IsBase64Url(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';
}
