using System.Security.Cryptography;
using System.Text;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using OtpNet;

namespace AccountFunctions.Core.Mfa;

/// <summary>
/// TOTP per RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps, one step
/// of clock drift either way. The secret must be recoverable to check codes, so it is stored
/// encrypted: AES-256-GCM under HMAC(token key, "totp-secret-key:v1"), with the account id as
/// associated data so a ciphertext copied onto another account does not decrypt.
/// Stored form: <c>v1.{base64(nonce[12] | ciphertext | tag[16])}</c>.
/// Replay: a step is accepted only if it is newer than <c>Account.TotpLastStep</c> (written with
/// the account's ETag) and its marker row <c>~used-totp-{step}</c> in the account's partition is
/// inserted by this caller: the insert is the lock, atomic on Azurite too.
/// </summary>
public sealed class TotpCodes(TokenKeys keys, AccountsTable accounts, TimeProvider time)
{
    public const int SecretBytes = 20; // 160 bits, RFC 4226's recommendation for SHA-1
    private const string Version = "v1.";
    private static readonly VerificationWindow Drift = new(previous: 1, future: 1);

    public static byte[] NewSecret() => RandomNumberGenerator.GetBytes(SecretBytes);

    public static string Base32(byte[] secret) => Base32Encoding.ToString(secret).TrimEnd('=');

    /// <summary>The time step a code matches within the drift window, or null.</summary>
    public static long? Match(byte[] secret, string code, DateTimeOffset now) =>
        new Totp(secret, step: 30, mode: OtpHashMode.Sha1, totpSize: 6)
            .VerifyTotp(now.UtcDateTime, code, out var step, Drift) ? step : null;

    public static bool IsWellFormed(string? code) => code is { Length: 6 } && code.All(char.IsAsciiDigit);

    public async Task<string> EncryptAsync(string accountId, byte[] secret)
    {
        using var aes = new AesGcm(await KeyAsync(), AesGcm.TagByteSizes.MaxSize);
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var cipher = new byte[secret.Length];
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        aes.Encrypt(nonce, secret, cipher, tag, Aad(accountId));
        return Version + Convert.ToBase64String([.. nonce, .. cipher, .. tag]);
    }

    /// <summary>
    /// Null when the secret does not open (the token key was rotated, or the row was tampered
    /// with): no code can match then, and the person signs in with a recovery code instead.
    /// </summary>
    public async Task<byte[]?> TryDecryptAsync(string accountId, string stored)
    {
        try
        {
            return await DecryptAsync(accountId, stored);
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            return null;
        }
    }

    public async Task<byte[]> DecryptAsync(string accountId, string stored)
    {
        if (!stored.StartsWith(Version, StringComparison.Ordinal)) throw new CryptographicException("Unknown TOTP secret format.");
        var blob = Convert.FromBase64String(stored[Version.Length..]);
        var (nonceSize, tagSize) = (AesGcm.NonceByteSizes.MaxSize, AesGcm.TagByteSizes.MaxSize);
        if (blob.Length <= nonceSize + tagSize) throw new CryptographicException("TOTP secret too short.");
        using var aes = new AesGcm(await KeyAsync(), tagSize);
        var plain = new byte[blob.Length - nonceSize - tagSize];
        aes.Decrypt(blob.AsSpan(0, nonceSize), blob.AsSpan(nonceSize, plain.Length), blob.AsSpan(nonceSize + plain.Length), plain, Aad(accountId));
        return plain;
    }

    /// <summary>The step of a code of the account's active secret, newer than the last one accepted; not yet claimed.</summary>
    public async Task<long?> MatchActiveAsync(Account account, string code)
    {
        if (account.TotpSecret is null || !IsWellFormed(code)) return null;
        if (await TryDecryptAsync(account.Id, account.TotpSecret) is not { } secret) return null;
        var step = Match(secret, code, time.GetUtcNow());
        return step is { } s && (account.TotpLastStep is not { } last || s > last) ? step : null;
    }

    /// <summary>Claims a step for the account: of any number of racers with one code, exactly one gets true.</summary>
    public Task<bool> ClaimStepAsync(string accountId, long step, CancellationToken ct) =>
        accounts.TryAddMarkerAsync(accountId, StepMarker(step), time.GetUtcNow(), ct);

    /// <summary>
    /// Drops the marker of a step the account row has since moved past (TotpLastStep is newer),
    /// so markers do not pile up: only the latest one or two stay.
    /// </summary>
    public Task ForgetStepAsync(string accountId, long? step, CancellationToken ct) =>
        step is { } s ? accounts.RemoveAsync(accountId, StepMarker(s), ct) : Task.CompletedTask;

    /// <summary>Drops every step marker of the account (MFA turned off: a new secret starts afresh).</summary>
    public Task ForgetAllStepsAsync(string accountId, CancellationToken ct) => accounts.RemoveAllAsync(accountId, StepMarker(0)[..^12], ct);

    public static string StepMarker(long step) => $"{TableResults.MarkerPrefix}totp-{step:D12}";

    private Task<byte[]> KeyAsync() => keys.MacAsync("totp-secret-key", "v1");

    private static byte[] Aad(string accountId) => Encoding.UTF8.GetBytes("totp:" + accountId);
}
