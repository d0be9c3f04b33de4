using System.Security.Cryptography;
using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Sessions;

public sealed record ClientInfo(string? UserAgent, string? IpAddress);

/// <summary>
/// An authenticated caller: the token's claims, its session row still alive, and the account row
/// as read in the same query (null only when a caller is built by hand).
/// </summary>
public sealed record Caller(string AccountId, string SessionId, string Role, Account? Account = null)
{
    /// <summary>The client's address (the last X-Forwarded-For hop), for the audit trail.</summary>
    public string? IpAddress { get; init; }
}

/// <summary>
/// Sessions and refresh tokens. A refresh token is <c>{account}.{session}.{generation}.{mac}</c>
/// with mac = HMAC(token key, session | generation | per-session salt): the server stores the
/// generation, never the token. Rotation bumps the generation with an ETag write, so of two
/// racers one rotates and the other, within the reuse grace, recomputes the same successor.
/// A generation older than that is reuse: the session ends.
/// </summary>
public sealed class SessionService(AccountsTable accounts, TokenKeys keys, AccessTokens accessTokens,
    SessionsOptions options, AuditLog audit, TimeProvider time)
{
    public SessionRow New(Account account, bool rememberMe, ClientInfo client)
    {
        var now = time.GetUtcNow();
        return new SessionRow
        {
            PartitionKey = account.Id,
            Epoch = account.SessionEpoch,
            RowKey = SessionRow.Prefix + Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            Salt = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            Generation = 0,
            CreatedAt = now,
            LastUsedAt = now,
            ExpiresAt = now + (rememberMe ? options.RememberMeLifetime : options.RefreshTokenLifetime),
            RememberMe = rememberMe,
            UserAgent = Truncate(client.UserAgent, 256),
            IpAddress = Truncate(client.IpAddress, 64),
        };
    }

    /// <summary>How stale the stored last sign-in time may be before a sign-in writes it again.</summary>
    public static readonly TimeSpan LastLoginPrecision = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A sign-in that needs no ETag on the account row: the new session, and the last sign-in time
    /// as an unconditional merge of that one property (no other field can be lost; of racing
    /// sign-ins the last write wins, all within moments of each other), written only when the
    /// stored value is older than <see cref="LastLoginPrecision"/> so that writes which must be
    /// exact (status, hash, MFA) are seldom made to retry by sign-ins. <paramref name="account"/>
    /// shows the new time either way.
    /// </summary>
    public AccountChange SignIn(Account account, SessionRow session)
    {
        var now = time.GetUtcNow();
        var stale = account.LastLoginAt is not { } last || now - last >= LastLoginPrecision;
        account.LastLoginAt = now;
        var change = AccountChange.Beside(account.Id).AddSession(session);
        return stale ? change.TouchLastLogin(now) : change;
    }

    /// <summary>The Session object for a session row at its current generation.</summary>
    public async Task<SessionView> ViewAsync(Account account, SessionRow session)
    {
        var access = await accessTokens.IssueAsync(account.Id, session.SessionId, account.Role);
        var refresh = await RefreshTokenAsync(session, session.Generation);
        var refreshLeft = (int)Math.Max(0, (session.ExpiresAt - time.GetUtcNow()).TotalSeconds);
        return new SessionView(access, "Bearer", (int)accessTokens.Lifetime.TotalSeconds, refresh, refreshLeft, AccountView.From(account));
    }

    /// <summary>
    /// The caller behind a bearer token, if its session is still alive. One query of the account's
    /// partition reads the session row and the account row together (one storage call).
    /// </summary>
    public async Task<Caller?> AuthenticateAsync(string? bearer, CancellationToken ct = default)
    {
        var claims = await accessTokens.ValidateAsync(bearer);
        if (claims is null) return null;
        var (account, session) = await ReadAsync(claims.AccountId, claims.SessionId, ct);
        if (session is null || account is null || time.GetUtcNow() >= session.ExpiresAt || session.Epoch != account.SessionEpoch) return null;
        return new Caller(claims.AccountId, claims.SessionId, claims.Role, account);
    }

    private Task<(Account? Account, SessionRow? Session)> ReadAsync(string accountId, string sessionId, CancellationToken ct) =>
        accounts.GetWithSessionAsync(accountId, sessionId, ct);

    public async Task<Result<SessionView>> RefreshAsync(string? token, ClientInfo client, CancellationToken ct = default)
    {
        if (!TryParse(token, out var accountId, out var sessionId, out var generation, out var mac)) return Errors.InvalidToken;
        Result<SessionView> result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var (account, session) = await ReadAsync(accountId, sessionId, ct);
            if (session is null)
            {
                result = Errors.InvalidToken;
                return true;
            }
            var expected = await MacAsync(session, generation);
            if (!CryptographicOperations.FixedTimeEquals(expected, mac))
            {
                result = Errors.InvalidToken;
                return true;
            }
            var now = time.GetUtcNow();
            if (now >= session.ExpiresAt)
            {
                await accounts.TryDeleteSessionAsync(session, ct);
                result = Errors.InvalidToken;
                return true;
            }
            if (account is null || account.Status != AccountStatus.Active || session.Epoch != account.SessionEpoch)
            {
                result = Errors.InvalidToken;
                return true;
            }

            if (generation == session.Generation)
            {
                session.Generation++;
                session.RotatedAt = now;
                session.LastUsedAt = now;
                if (!await accounts.TryReplaceSessionAsync(session, ct)) return false; // a parallel refresh rotated it first: look again (the grace case)
                result = await ViewAsync(account, session);
                return true;
            }
            if (generation == session.Generation - 1 && session.RotatedAt is { } rotated && now - rotated <= options.ReuseGrace)
            {
                result = await ViewAsync(account, session);
                return true;
            }
            if (generation < session.Generation)
            {
                await accounts.TryDeleteSessionAsync(session, ct);
                await audit.RecordAsync(AuditEvent.SessionReuseDetected, accountId, client.IpAddress, AuditLog.Detail(("session", sessionId)));
                result = Errors.TokenReused;
                return true;
            }
            result = Errors.InvalidToken;
            return true;
        }, "Refresh kept conflicting.", ct);
        return result;
    }

    /// <summary>Ends the session a refresh token belongs to; unknown tokens are ignored.</summary>
    public async Task LogoutAsync(string? token, ClientInfo client, CancellationToken ct = default)
    {
        if (!TryParse(token, out var accountId, out var sessionId, out var generation, out var mac)) return;
        var session = await accounts.GetSessionAsync(accountId, sessionId, ct);
        if (session is null) return;
        if (!CryptographicOperations.FixedTimeEquals(await MacAsync(session, generation), mac)) return;
        await accounts.DeleteSessionAsync(accountId, sessionId, ct);
        await audit.RecordAsync(AuditEvent.Logout, accountId, client.IpAddress, AuditLog.Detail(("session", sessionId)));
    }

    public sealed record SessionInfo(string Id, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt, DateTimeOffset ExpiresAt,
        bool RememberMe, string? UserAgent, string? IpAddress, bool Current);

    /// <summary>The account's live sessions, newest first (one partition range query).</summary>
    public async Task<List<SessionInfo>> ListAsync(Caller caller, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var list = new List<SessionInfo>();
        foreach (var s in await accounts.ListSessionsAsync(caller.AccountId, ct))
        {
            if (s.ExpiresAt <= now) continue;
            list.Add(new SessionInfo(s.SessionId, s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.RememberMe, s.UserAgent, s.IpAddress,
                s.SessionId == caller.SessionId));
        }
        return list.OrderByDescending(s => s.LastUsedAt).ToList();
    }

    /// <summary>Ends one of the caller's own sessions; its access tokens stop working at once.</summary>
    public async Task<bool> EndAsync(Caller caller, string sessionId, ClientInfo client, CancellationToken ct = default)
    {
        if (sessionId.Length != 22 || !sessionId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        if (await accounts.GetSessionAsync(caller.AccountId, sessionId, ct) is null) return false;
        await accounts.DeleteSessionAsync(caller.AccountId, sessionId, ct);
        await audit.RecordAsync(AuditEvent.SessionRevoked, caller.AccountId, client.IpAddress, AuditLog.Detail(("session", sessionId)));
        return true;
    }

    /// <summary>
    /// Ends every session of the account (all but <paramref name="keepSessionId"/>, when given): a
    /// password reset or change, an admin lock, an email revert, the sweep's lock.
    /// </summary>
    public async Task EndAllAsync(string accountId, CancellationToken ct, string? keepSessionId = null)
    {
        foreach (var s in await accounts.ListSessionsAsync(accountId, ct))
            if (s.SessionId != keepSessionId) await accounts.DeleteSessionAsync(accountId, s.SessionId, ct);
    }

    private async Task<string> RefreshTokenAsync(SessionRow session, int generation) =>
        $"{session.AccountId}.{session.SessionId}.{generation}.{Base64UrlEncoder.Encode(await MacAsync(session, generation))}";

    private Task<byte[]> MacAsync(SessionRow session, int generation) =>
        keys.MacAsync("refresh", $"{session.AccountId}|{session.SessionId}|{generation}|{session.Salt}");

    private static bool TryParse(string? token, out string accountId, out string sessionId, out int generation, out byte[] mac)
    {
        accountId = sessionId = ""; generation = 0; mac = [];
        if (token is null || token.Length > 200) return false;
        var parts = token.Split('.');
        if (parts.Length != 4 || parts[0].Length != 32 || !parts[0].All(char.IsAsciiHexDigitLower)) return false;
        if (parts[1].Length != 22 || !parts[1].All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        if (!int.TryParse(parts[2], System.Globalization.NumberStyles.None, null, out generation)) return false;
        try
        {
            mac = Base64UrlEncoder.DecodeBytes(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        accountId = parts[0];
        sessionId = parts[1];
        return mac.Length == 32;
    }

    private static string? Truncate(string? s, int max) => s is null ? null : s.Length <= max ? s : s[..max];
}
