using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace AccountFunctions.Core.Security;

/// <summary>
/// Argon2id (libsodium through NSec) in the PHC string format, which describes itself:
/// <c>$argon2id$v=19$m=&lt;KiB&gt;,t=&lt;passes&gt;,p=1$&lt;salt, base64&gt;$&lt;hash, base64&gt;</c>
/// (base64 without padding, 16-byte salt, 32-byte hash). Parameters live in each hash, so
/// raising them later still verifies old hashes and <see cref="NeedsRehash"/> says when to upgrade.
/// Passwords are NFKC-normalised before hashing.
/// <para>Imported hashes verify too, and are replaced by an Argon2id hash at the next successful
/// sign-in: bcrypt (<c>$2a$</c>, <c>$2b$</c>, <c>$2y$</c>, through BCrypt.Net-Next) and ASP.NET Core
/// Identity's V2/V3 format (through Identity's own PasswordHasher), stored as
/// <c>$aspnet-identity$&lt;its base64&gt;</c> so that every stored hash names its scheme.</para>
/// </summary>
public sealed class PasswordHasher
{
    private const int SaltSize = 16;
    private const int HashSize = 32;
    private readonly int _memoryKiB;
    private readonly int _passes;
    private readonly string _dummyHash;
    private long _derivations;

    /// <summary>Argon2id derivations so far (hashes and verifications): a test shows every failed login path computes one.</summary>
    public long Derivations => Interlocked.Read(ref _derivations);

    public PasswordHasher(SecurityOptions options)
    {
        _memoryKiB = options.HashMemoryKiB;
        _passes = options.HashIterations;
        _dummyHash = Hash("dummy password for unknown accounts");
    }

    public string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        Interlocked.Increment(ref _derivations);
        var hash = Derive(password, salt, _memoryKiB, _passes);
        return $"$argon2id$v=19$m={_memoryKiB},t={_passes},p=1${B64(salt)}${B64(hash)}";
    }

    public const string IdentityPrefix = "$aspnet-identity$";
    private static readonly Microsoft.AspNetCore.Identity.PasswordHasher<object> Identity = new();

    public bool Verify(string password, string? encoded)
    {
        if (encoded is null) return false;
        if (IsBcrypt(encoded)) return VerifyBcrypt(password, encoded);
        if (encoded.StartsWith(IdentityPrefix, StringComparison.Ordinal))
            return Identity.VerifyHashedPassword(new object(), encoded[IdentityPrefix.Length..], password)
                is not Microsoft.AspNetCore.Identity.PasswordVerificationResult.Failed;
        if (!TryParse(encoded, out var m, out var t, out var salt, out var expected)) return false;
        Interlocked.Increment(ref _derivations);
        var actual = Derive(password, salt, m, t);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>
    /// A hash from another system in the stored form, or null if it is none this class can verify:
    /// bcrypt as it is, an ASP.NET Core Identity hash (base64 of its V2/V3 bytes) with its prefix,
    /// an Argon2id PHC string as it is.
    /// </summary>
    public static string? ImportFormat(string? hash)
    {
        if (string.IsNullOrWhiteSpace(hash) || hash.Length > 512) return null;
        if (IsBcrypt(hash)) return hash.Length == 60 ? hash : null;
        if (hash.StartsWith("$argon2id$", StringComparison.Ordinal)) return TryParse(hash, out _, out _, out _, out _) ? hash : null;
        var raw = hash.StartsWith(IdentityPrefix, StringComparison.Ordinal) ? hash[IdentityPrefix.Length..] : hash;
        var bytes = new byte[raw.Length];
        if (!Convert.TryFromBase64String(raw, bytes, out var length)) return null;
        // V2: 0x00 + 16-byte salt + 32-byte subkey. V3: 0x01 + prf + iterations + salt length + salt + subkey.
        return (length == 49 && bytes[0] == 0x00) || (length >= 13 + 16 && bytes[0] == 0x01) ? IdentityPrefix + raw : null;
    }

    private static bool IsBcrypt(string encoded) =>
        encoded.StartsWith("$2a$", StringComparison.Ordinal) || encoded.StartsWith("$2b$", StringComparison.Ordinal)
        || encoded.StartsWith("$2y$", StringComparison.Ordinal);

    private static bool VerifyBcrypt(string password, string encoded)
    {
        try
        {
            return BCrypt.Net.BCrypt.Verify(password, encoded);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return false;
        }
    }

    /// <summary>Spends the same time as a real verification, for identifiers with no account.</summary>
    public void VerifyDummy(string password) => Verify(password, _dummyHash);

    public bool NeedsRehash(string encoded) =>
        !TryParse(encoded, out var m, out var t, out _, out _) || m != _memoryKiB || t != _passes;

    private static byte[] Derive(string password, byte[] salt, int memoryKiB, int passes)
    {
        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = memoryKiB,
            NumberOfPasses = passes,
        });
        var bytes = Encoding.UTF8.GetBytes(password.Normalize(NormalizationForm.FormKC));
        return algorithm.DeriveBytes(bytes, salt, HashSize);
    }

    private static bool TryParse(string encoded, out int memoryKiB, out int passes, out byte[] salt, out byte[] hash)
    {
        memoryKiB = passes = 0; salt = hash = [];
        var parts = encoded.Split('$');
        // "", "argon2id", "v=19", "m=..,t=..,p=1", salt, hash
        if (parts.Length != 6 || parts[1] != "argon2id" || parts[2] != "v=19") return false;
        var ps = parts[3].Split(',');
        if (ps.Length != 3 || !ps[0].StartsWith("m=") || !ps[1].StartsWith("t=") || ps[2] != "p=1") return false;
        if (!int.TryParse(ps[0][2..], out memoryKiB) || !int.TryParse(ps[1][2..], out passes)) return false;
        if (memoryKiB is < 8 or > 1024 * 1024 || passes is < 1 or > 100) return false;
        try
        {
            salt = FromB64(parts[4]);
            hash = FromB64(parts[5]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length == SaltSize && hash.Length == HashSize;
    }

    private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=');
    private static byte[] FromB64(string s) => Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
}
