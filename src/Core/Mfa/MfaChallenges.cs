using AccountFunctions.Core.Audit;
using System.Security.Cryptography;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Mfa;

public sealed record MfaLoginRequest(string? MfaToken, string? Code, string? RecoveryCode);

/// <summary>
/// The second step of a sign-in (states in docs/flows/mfa.md). A right password, or a redeemed
/// email sign-in, on an account with MFA on gets an mfaToken instead of a session
/// (<see cref="MfaChallengeIssuer"/>). Completing it: every try first inserts a
/// <c>try-{n}</c> row (n ≤ 5, so at most five codes are checked per token even under parallel
/// requests), every try also takes one of the account's tries (RateLimiter "mfa", reserved before
/// the check and given back by a right code), then the token is consumed
/// (marker insert) before the code is (TOTP step marker or recovery-code marker), and the
/// session commits with the account's new TotpLastStep in one transaction with the ETag.
/// </summary>
public sealed class MfaChallenges(TokensTable tokenRows, AccountsTable accounts, TotpCodes totp, RecoveryCodes recovery, SignInCompletion completion,
    RateLimiter limiter, LoginThrottleOptions lockout, AuditLog audit, TimeProvider time, ILogger<MfaChallenges> log)
{
    public const int Tries = 5;
    public const string Limit = "mfa";

    public async Task<Result<SignIn>> CompleteAsync(MfaLoginRequest request, ClientInfo client, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(request.MfaToken)) return Errors.Validation("mfaToken", "The mfaToken from the sign-in answer is required.");
        if ((request.Code is null) == (request.RecoveryCode is null))
            return Errors.Validation("code", "Send either a code from the authenticator app or a recoveryCode.");
        if (request.Code is not null && !TotpCodes.IsWellFormed(request.Code)) return Errors.Validation("code", "The code is 6 digits.");
        if (request.RecoveryCode is { Length: > 64 }) return Errors.Validation("recoveryCode", "Too long.");
        if (!TryParse(request.MfaToken, out var tokenId, out var secret)) return Errors.InvalidToken;

        var row = await tokenRows.GetMfaTokenAsync(tokenId, ct);
        if (row is null || time.GetUtcNow() >= row.ExpiresAt
            || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(secret), Convert.FromBase64String(row.SecretHash)))
            return Errors.InvalidToken;
        var (tries, consumed) = await tokenRows.CountTriesAsync(tokenId, ct);
        if (consumed) return Errors.InvalidToken;

        // The per-account try is taken before the code is checked (issue 23), so tries of many
        // tokens in flight together cannot all pass; one not spent on a check is given back.
        var throttle = await limiter.ReserveAsync(Limit, row.AccountId, lockout.MaxFailedAttempts, lockout.Duration, ct);
        if (!throttle.Allowed) return Errors.TooManyRequests(throttle.RetryAfter);
        var attempt = await ReserveTryAsync(tokenId, tries + 1, ct);
        if (attempt is null)
        {
            await limiter.ReleaseAsync(throttle, ct);
            await tokenRows.RemoveMfaTokenAsync(tokenId, ct);
            return Errors.InvalidToken;
        }

        var account = await accounts.GetAsync(row.AccountId, ct);
        if (account is null || !account.MfaEnabled) // gone, or MFA turned off meanwhile: sign in again
        {
            await limiter.ReleaseAsync(throttle, ct);
            return Errors.InvalidToken;
        }
        if (account.StatusError() is { } refused)
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
            if (attempt >= Tries) await tokenRows.RemoveMfaTokenAsync(tokenId, ct);
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
        long? forget = null;
        var signedIn = await completion.CompleteAsync(
            new SignInStep(account.Id, step is null ? SignInMethod.RecoveryCode : SignInMethod.Totp, row.RememberMe, row.UseCookie)
            {
                Account = account,
                SecondFactorProven = true,
                Check = current => current is null || !current.MfaEnabled ? Errors.InvalidToken : null,
                Change = current =>
                {
                    forget = null;
                    if (step is not { } accepted || (current.TotpLastStep is { } last && accepted <= last)) return false;
                    forget = current.TotpLastStep;
                    current.TotpLastStep = accepted;
                    return true;
                },
            }, client, ct);
        if (signedIn.Ok && forget is not null) await totp.ForgetStepAsync(account.Id, forget, ct);
        return signedIn;
    }

    /// <summary>Inserts the next free <c>try-{n}</c> row; null when all five are taken (the token is dead).</summary>
    private async Task<int?> ReserveTryAsync(string tokenId, int from, CancellationToken ct)
    {
        for (var n = from; n <= Tries; n++)
            if (await tokenRows.ReserveTryAsync(tokenId, n, time.GetUtcNow(), ct))
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
