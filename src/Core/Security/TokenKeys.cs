using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AccountFunctions.Core.Storage;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Security;

/// <summary>
/// The server's secrets: the HMAC key that derives link secrets, codes and refresh tokens, and
/// the ES256 signing key. Taken from settings (Key Vault references in Azure); when a setting is
/// absent (development) a key is generated once and kept in the <c>keys</c> table, where the
/// first instance to insert it wins and every other instance reads the same one.
/// </summary>
public sealed class TokenKeys
{
    private readonly AsyncOnce<(byte[] Hmac, ECDsaSecurityKey Signing, ECDsaSecurityKey? Previous)> _keys;

    public TokenKeys(KeysTable stored, SecurityOptions security, JwtOptions jwt)
    {
        _keys = new(async () =>
        {
            foreach (var (name, value) in new[] { ("Security__TokenKey", security.TokenKey), ("Jwt__SigningKey", jwt.SigningKey), ("Jwt__PreviousSigningKey", jwt.PreviousSigningKey) })
                if (value?.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase) == true)
                    throw new InvalidOperationException($"{name} is an unresolved Key Vault reference: check the secret exists and the app's identity may read it.");
            var hmac = security.TokenKey is { Length: > 0 } configured
                ? Convert.FromBase64String(configured)
                : Convert.FromBase64String(await stored.GetOrCreateAsync("token-key", () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
            if (hmac.Length < 32) throw new InvalidOperationException("Security__TokenKey must be at least 32 bytes (base64).");
            var pem = jwt.SigningKey is { Length: > 0 } configuredPem
                ? configuredPem
                : await stored.GetOrCreateAsync("jwt-signing-key", () => ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportECPrivateKeyPem());
            var signing = Load(pem, "Jwt__SigningKey");
            var previous = jwt.PreviousSigningKey is { Length: > 0 } previousPem ? Load(previousPem, "Jwt__PreviousSigningKey") : null;
            if (previous?.KeyId == signing.KeyId) previous = null;
            return (hmac, signing, previous);
        });
    }

    public async Task<ECDsaSecurityKey> SigningKeyAsync() => (await _keys.Value).Signing;

    /// <summary>The keys a token may be signed with: the current one, and the previous one during a rotation.</summary>
    public async Task<IReadOnlyList<ECDsaSecurityKey>> ValidationKeysAsync()
    {
        var keys = await _keys.Value;
        return keys.Previous is { } previous ? [keys.Signing, previous] : [keys.Signing];
    }

    private static ECDsaSecurityKey Load(string pem, string setting)
    {
        var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(pem);
        if (ecdsa.KeySize != 256) throw new InvalidOperationException($"{setting} must be an EC P-256 private key.");
        var parameters = ecdsa.ExportParameters(false);
        var kid = Base64UrlEncoder.Encode(SHA256.HashData([.. parameters.Q.X!, .. parameters.Q.Y!]).AsSpan(0, 12).ToArray());
        return new ECDsaSecurityKey(ecdsa) { KeyId = kid };
    }

    /// <summary>HMAC-SHA256(token key, purpose label || input).</summary>
    public async Task<byte[]> MacAsync(string label, string input)
    {
        var key = (await _keys.Value).Hmac;
        return HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(label + ":" + input));
    }

    /// <summary>The 6-digit code for a code nonce.</summary>
    public async Task<string> CodeAsync(string nonce)
    {
        var mac = await MacAsync("code", nonce);
        var n = BinaryPrimitives.ReadUInt64BigEndian(mac) % 1_000_000UL;
        return n.ToString("D6");
    }
}
