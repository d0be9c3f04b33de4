using AccountFunctions.Core.Audit;
using System.Security.Cryptography;
using AccountFunctions.Core.Login;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Mfa;

/// <summary>The contract's <c>{"mfaRequired": true, "mfaToken"}</c> answer.</summary>
public sealed record MfaChallenge(bool MfaRequired, string MfaToken);

public sealed record MfaLoginRequest(string? MfaToken, string? Code, string? RecoveryCode);

/// <summary>
/// The second step of a sign-in (states in docs/flows/mfa.md). A right password, or a redeemed
/// email sign-in, on an account with MFA on gets an mfaToken <c>{id}.{secret}</c> instead of a
/// session: 128-bit id, 256-bit random secret of which only SHA-256 is stored, MfaTokenLifetime
/// (5 min), remembers rememberMe and useCookie. Completing it: every try first inserts a
/// <c>try-{n}</c> row (n ≤ 5, so at most five codes are checked per token even under parallel
/// requests), every try also takes one of the account's tries (RateLimiter "mfa", reserved before
/// the check and given back by a right code), then the token is consumed
/// (marker insert) before the code is (TOTP step marker or recovery-code marker), and the
/// session commits with the account's new TotpLastStep in one transaction with the ETag.
/// </summary>
public sealed class MfaChallenges(TokensTable tokenRows, AccountsTable accounts, TotpCodes totp, RecoveryCodes recovery, SessionService sessions,
    RateLimiter limiter, LoginThrottleOptions lockout, MfaOptions options, AuditLog audit, TimeProvider time, ILogger<MfaChallenges> log)
{
    public const int Tries = 5;
    public const string Limit = "mfa";

    public async Task<MfaChallenge> IssueAsync(string accountId, bool rememberMe, bool useCookie, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var id = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var secret = RandomNumberGenerator.GetBytes(32);
        await tokenRows.AddAsync(new MfaTokenRow
        {
            PartitionKey = id,
            AccountId = accountId,
            SecretHash = Convert.ToBase64String(SHA256.HashData(secret)),
            RememberMe = rememberMe,
            UseCookie = useCookie,
            CreatedAt = now,
            ExpiresAt = now + options.TokenLifetime,
        }, ct);
        log.LogInformation("Account {AccountId} passed the first sign-in step; second factor required", accountId);
        return new MfaChallenge(true, id + "." + Base64UrlEncoder.Encode(secret));
    }

    public async Task<Result<SignIn>> CompleteAsync(MfaLoginRequest request, ClientInfo client, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(request.MfaToken)) return Errors.Validation("mfaToken", "The mfaToken from the sign-in answer is required.");
        if ((request.Code is null) == (request.RecoveryCode is null))
            return Errors.Validation("code", "Send either a code from the authenticator app or a recoveryCode.");
        if (request.Code is not null && !TotpCodes.IsWellFormed(request.Code)) return Errors.Validation("code", "The code is 6 digits.");
        if (request.RecoveryCode is { Length: > 64 }) return Errors.Validation("recoveryCode", "Too long.");
        if (!TryParse(request.MfaToken, out var tokenId, out var secret)) return Errors.InvalidToken;

        var row = await tokenRows.GetAsync<MfaTokenRow>(tokenId, MfaTokenRow.Row, ct);
        if (row is null || time.GetUtcNow() >= row.ExpiresAt
            || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(secret), Convert.FromBase64String(row.SecretHash)))
            return Errors.InvalidToken;
        var (tries, consumed) = await TriesAsync(tokenId, ct);
        if (consumed) return Errors.InvalidToken;

        // The per-account try is taken before the code is checked (issue 23), so tries of many
        // tokens in flight together cannot all pass; one not spent on a check is given back.
        var throttle = await limiter.ReserveAsync(Limit, row.AccountId, lockout.MaxFailedAttempts, lockout.Duration, ct);
        if (!throttle.Allowed) return Errors.TooManyRequests(throttle.RetryAfter);
        var attempt = await ReserveTryAsync(tokenId, tries + 1, ct);
        if (attempt is null)
        {
            await limiter.ReleaseAsync(throttle, ct);
            await tokenRows.RemoveAsync(tokenId, MfaTokenRow.Row, ct);
            return Errors.InvalidToken;
        }

        var account = await accounts.GetAsync(row.AccountId, ct);
        if (account is null || !account.MfaEnabled) // gone, or MFA turned off meanwhile: sign in again
        {
            await limiter.ReleaseAsync(throttle, ct);
            return Errors.InvalidToken;
        }
        if (LoginService.StatusError(account) is { } refused)
        {
            await limiter.ReleaseAsync(throttle, ct);
            return refused;
        }

        long? step = null;
        RecoveryCodeRow? recoveryRow = null;
        if (request.Code is not null) step = await totp.MatchActiveAsync(account, request.Code);
        else recoveryRow = await recovery.FindAsync(account, request.RecoveryCode!, ct);
        if (step is null && recoveryRow is null)
        {
            if (attempt >= Tries) await tokenRows.RemoveAsync(tokenId, MfaTokenRow.Row, ct);
            log.LogInformation("Wrong second factor for account {AccountId} (try {Try})", account.Id, attempt);
            await audit.RecordAsync(AuditEvent.LoginFailed, account.Id, client.IpAddress, AuditLog.Detail(("reason", Errors.InvalidCode.Code)));
            return Errors.InvalidCode;
        }

        await limiter.ReleaseAsync(throttle, ct); // a right code does not count against the account
        // The token first (a racer with the same token loses here), then the code (a racer with
        // another token but the same code loses there), then the session.
        if (!await tokenRows.TryConsumeAsync(row, MfaTokenRow.Row, ct)) return Errors.InvalidToken;
        var codeUsed = step is { } s ? await totp.ClaimStepAsync(account.Id, s, ct) : await recovery.UseAsync(recoveryRow!, ct);
        if (!codeUsed) return Errors.InvalidCode;

        // The step's marker above is the lock; TotpLastStep only moves forward, with the ETag, and
        // only when this step is newer than the stored one. Otherwise (a recovery code, or a racer
        // already moved it past) the session needs no ETag and cannot conflict with other sign-ins.
        var previousStep = account.TotpLastStep;
        Result<SignIn> result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var session = sessions.New(account, row.RememberMe, client);
            AccountChange change;
            if (step is { } accepted && (account.TotpLastStep is not { } last || accepted > last))
            {
                account.TotpLastStep = accepted;
                account.LastLoginAt = time.GetUtcNow();
                change = AccountChange.Of(account).AddSession(session);
            }
            else change = sessions.SignIn(account, session);
            if (await accounts.TryCommitAsync(change, ct))
            {
                if (step is not null && previousStep != account.TotpLastStep) await totp.ForgetStepAsync(account.Id, previousStep, ct);
                log.LogInformation("Account {AccountId} signed in with {Factor}, session {SessionId}", account.Id,
                    step is null ? "a recovery code" : "an authenticator code", session.SessionId);
                await audit.RecordAsync(AuditEvent.LoginSucceeded, account.Id, client.IpAddress,
                    AuditLog.Detail(("session", session.SessionId), ("factor", step is null ? "recovery_code" : "totp")));
                result = SignIn.With(await sessions.ViewAsync(account, session), row.UseCookie);
                return true;
            }
            var fresh = await accounts.GetAsync(row.AccountId, ct);
            if (fresh is null || !fresh.MfaEnabled) result = Errors.InvalidToken;
            else if (LoginService.StatusError(fresh) is { } blocked) result = blocked;
            else
            {
                account = fresh;
                return false;
            }
            return true;
        }, "Account kept changing during the second sign-in step.", ct);
        return result;
    }

    /// <summary>How many tries the token has had, and whether it was already used.</summary>
    private async Task<(int Tries, bool Consumed)> TriesAsync(string tokenId, CancellationToken ct)
    {
        var (tries, consumed) = (0, false);
        foreach (var key in await tokenRows.ListKeysFromAsync(tokenId, MfaTokenRow.TryPrefix, ct))
        {
            if (key.StartsWith(MfaTokenRow.TryPrefix, StringComparison.Ordinal)) tries++;
            else if (key.StartsWith(TableResults.MarkerPrefix, StringComparison.Ordinal)) consumed = true;
        }
        return (tries, consumed);
    }

    /// <summary>Inserts the next free <c>try-{n}</c> row; null when all five are taken (the token is dead).</summary>
    private async Task<int?> ReserveTryAsync(string tokenId, int from, CancellationToken ct)
    {
        for (var n = from; n <= Tries; n++)
            if (await tokenRows.TryAddMarkerAsync(tokenId, MfaTokenRow.TryPrefix + n, "At", time.GetUtcNow(), ct))
                return n;
        return null;
    }

    private static bool TryParse(string token, out string tokenId, out byte[] secret)
    {
        tokenId = ""; secret = [];
        if (token.Length != 22 + 1 + 43 || token[22] != '.') return false;
        if (!token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) return false;
        tokenId = token[..22];
        try
        {
            secret = Base64UrlEncoder.DecodeBytes(token[23..]);
        }
        catch (FormatException)
        {
            return false;
        }
        return secret.Length == 32 && !tokenId.Contains('.');
    }
}
