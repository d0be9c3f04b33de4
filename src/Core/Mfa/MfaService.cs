using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Mfa;

public sealed record TotpSetup(string Secret, string OtpauthUri);
public sealed record RecoveryCodesView(IReadOnlyList<string> RecoveryCodes);
public sealed record ConfirmTotpRequest(string? Code);
/// <summary><c>code</c> is for accounts without a password (beyond the contract, which names only currentPassword).</summary>
public sealed record DisableTotpRequest(string? CurrentPassword, string? Code);

/// <summary>
/// Turning TOTP on and off for a signed-in person (states in docs/flows/mfa.md). <c>setup</c>
/// stores a new secret, encrypted, as pending (a second setup replaces it); <c>confirm</c> with a
/// code of it turns MFA on, claims the code's step, and commits the ten recovery-code rows in the
/// same transaction as the account (ETag); <c>disable</c> needs the current password (or, for an
/// account without one, a current code) and clears the secret and the recovery set. Sessions are
/// kept either way.
/// </summary>
public sealed class MfaService(AccountsTable accounts, TotpCodes totp, RecoveryCodes recovery, PasswordHasher hasher,
    RateLimiter limiter, LoginThrottle throttle, LoginThrottleOptions lockout, MfaOptions options, AuditLog audit, TimeProvider time, ILogger<MfaService> log)
{
    public async Task<Result<TotpSetup>> StartAsync(Caller caller, CancellationToken ct = default)
    {
        var secret = TotpCodes.NewSecret();
        var sealedSecret = await totp.EncryptAsync(caller.AccountId, secret);
        Result<TotpSetup> result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var account = await accounts.GetAsync(caller.AccountId, ct);
            if (account is null || account.MfaEnabled)
            {
                result = account is null ? Errors.Unauthorized : Errors.MfaAlreadyEnabled;
                return true;
            }
            account.TotpPendingSecret = sealedSecret;
            account.UpdatedAt = time.GetUtcNow();
            if (!await accounts.TryReplaceAsync(account, ct)) return false;
            var label = account.Email ?? account.AccountNumber ?? account.Id;
            result = new TotpSetup(TotpCodes.Base32(secret), OtpauthUri(options.Issuer, label, secret));
            return true;
        }, "Account kept changing during MFA setup.", ct);
        return result;
    }

    public async Task<Result<RecoveryCodesView>> ConfirmAsync(Caller caller, ConfirmTotpRequest request, CancellationToken ct = default)
    {
        if (request.Code is null) return Errors.Validation("code", "A code from the authenticator app is required.");
        if (!TotpCodes.IsWellFormed(request.Code)) return Errors.Validation("code", "The code is 6 digits.");
        var account = await accounts.GetAsync(caller.AccountId, ct);
        if (account is null) return Errors.Unauthorized;
        if (account.MfaEnabled) return Errors.MfaAlreadyEnabled;
        if (account.TotpPendingSecret is not { } pending) return Errors.MfaSetupRequired;

        // Reserved before the check (issue 23), given back by a right code.
        var tries = await limiter.ReserveAsync(MfaChallenges.Limit, account.Id, lockout.MaxFailedAttempts, lockout.Duration, ct);
        if (!tries.Allowed) return Errors.TooManyRequests(tries.RetryAfter);
        var pendingSecret = await totp.TryDecryptAsync(account.Id, pending);
        var step = pendingSecret is null ? null : TotpCodes.Match(pendingSecret, request.Code, time.GetUtcNow());
        if (step is null) return Errors.InvalidCode;
        await limiter.ReleaseAsync(tries, ct);
        // Two confirmations racing with one code: one claims the step, the other is refused.
        if (!await totp.ClaimStepAsync(account.Id, step.Value, ct)) return Errors.InvalidCode;

        Result<RecoveryCodesView> result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var set = Account.NewId();
            var (codes, rows) = RecoveryCodes.New(account.Id, set, time.GetUtcNow());
            account.MfaEnabled = true;
            account.TotpSecret = pending;
            account.TotpPendingSecret = null;
            account.TotpLastStep = step;
            account.RecoveryCodeSet = set;
            account.UpdatedAt = time.GetUtcNow();
            var change = AccountChange.Of(account);
            foreach (var r in rows) change.Add(r);
            if (await accounts.TryCommitAsync(change, ct))
            {
                log.LogInformation("Account {AccountId} turned on two-factor authentication", account.Id);
                await audit.RecordAsync(AuditEvent.MfaEnabled, account.Id, caller.IpAddress, null);
                result = new RecoveryCodesView(codes);
                return true;
            }
            var fresh = await accounts.GetAsync(caller.AccountId, ct);
            if (fresh is null) result = Errors.Unauthorized;
            else if (fresh.MfaEnabled) result = Errors.MfaAlreadyEnabled;
            else if (fresh.TotpPendingSecret != pending) result = Errors.InvalidCode; // a newer setup replaced the secret
            else
            {
                account = fresh;
                return false;
            }
            return true;
        }, "Account kept changing during MFA confirmation.", ct);
        return result;
    }

    public async Task<Result<bool>> DisableAsync(Caller caller, DisableTotpRequest request, CancellationToken ct = default)
    {
        var account = await accounts.GetAsync(caller.AccountId, ct);
        if (account is null) return Errors.Unauthorized;
        if (account.PasswordHash is not null)
        {
            if (string.IsNullOrEmpty(request.CurrentPassword)) return Errors.Validation("currentPassword", "The current password is required.");
            // Counted against the account's login throttle, reserved before the check (issue 23).
            if (await throttle.CheckCurrentPasswordAsync(account, request.CurrentPassword, hasher, ct) is { } refused) return refused;
        }
        else if (account.MfaEnabled)
        {
            // No password to confirm with: a current authenticator code instead (an extension of the contract).
            if (request.Code is null) return Errors.Validation("code", "This account has no password: send a current code from the authenticator app.");
            if (!TotpCodes.IsWellFormed(request.Code)) return Errors.Validation("code", "The code is 6 digits.");
            var tries = await limiter.ReserveAsync(MfaChallenges.Limit, account.Id, lockout.MaxFailedAttempts, lockout.Duration, ct);
            if (!tries.Allowed) return Errors.TooManyRequests(tries.RetryAfter);
            var step = await totp.MatchActiveAsync(account, request.Code);
            if (step is null || !await totp.ClaimStepAsync(account.Id, step.Value, ct)) return Errors.InvalidCode;
            await limiter.ReleaseAsync(tries, ct);
        }

        Result<bool> result = true;
        await Optimistic.RetryAsync(async _ =>
        {
            if (!account.MfaEnabled && account.TotpPendingSecret is null && account.RecoveryCodeSet is null) return true;
            account.MfaEnabled = false;
            account.TotpSecret = null;
            account.TotpPendingSecret = null;
            account.TotpLastStep = null;
            account.RecoveryCodeSet = null;
            account.UpdatedAt = time.GetUtcNow();
            if (await accounts.TryReplaceAsync(account, ct))
            {
                // The codes died with the set and the steps with the secret; their rows go too.
                await recovery.DeleteAllAsync(account.Id, ct);
                await totp.ForgetAllStepsAsync(account.Id, ct);
                log.LogInformation("Account {AccountId} turned off two-factor authentication", account.Id);
                await audit.RecordAsync(AuditEvent.MfaDisabled, account.Id, caller.IpAddress, null);
                return true;
            }
            var fresh = await accounts.GetAsync(caller.AccountId, ct);
            if (fresh is null)
            {
                result = Errors.Unauthorized;
                return true;
            }
            account = fresh;
            return false;
        }, "Account kept changing while turning MFA off.", ct);
        return result;
    }

    /// <summary>The Key URI Format authenticator apps read: otpauth://totp/Issuer:label?secret=…&amp;issuer=….</summary>
    public static string OtpauthUri(string issuer, string label, byte[] secret)
    {
        var i = Uri.EscapeDataString(issuer);
        return $"otpauth://totp/{i}:{Uri.EscapeDataString(label)}?secret={TotpCodes.Base32(secret)}&issuer={i}&algorithm=SHA1&digits=6&period=30";
    }
}
