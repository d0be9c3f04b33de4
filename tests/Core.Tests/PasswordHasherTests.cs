using System.Text.RegularExpressions;
using AccountFunctions.Core;
using AccountFunctions.Core.Security;

namespace AccountFunctions.Core.Tests;

public sealed class PasswordHasherTests
{
    private static SecurityOptions Fast(int memoryKiB = 1024, int iterations = 1) =>
        new() { HashMemoryKiB = memoryKiB, HashIterations = iterations };

    private static readonly PasswordHasher Hasher = new(Fast());

    private static readonly Regex Phc = new(
        @"^\$argon2id\$v=19\$m=(?<m>\d+),t=(?<t>\d+),p=1\$(?<salt>[A-Za-z0-9+/]+)\$(?<hash>[A-Za-z0-9+/]+)$");

    private static byte[] FromUnpaddedBase64(string s) =>
        Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));

    [Fact]
    public void HashThenVerifyWithSamePasswordSucceeds()
    {
        var encoded = Hasher.Hash("correct horse battery staple");
        Assert.True(Hasher.Verify("correct horse battery staple", encoded));
    }

    [Fact]
    public void VerifyWithWrongPasswordFails()
    {
        var encoded = Hasher.Hash("correct horse battery staple");
        Assert.False(Hasher.Verify("correct horse battery stapler", encoded));
        Assert.False(Hasher.Verify("Correct horse battery staple", encoded));
        Assert.False(Hasher.Verify("", encoded));
    }

    [Fact]
    public void HashIsPhcStringWithConfiguredParameters()
    {
        var encoded = new PasswordHasher(Fast(1024, 1)).Hash("some password");
        var match = Phc.Match(encoded);
        Assert.True(match.Success, encoded);
        Assert.Equal("1024", match.Groups["m"].Value);
        Assert.Equal("1", match.Groups["t"].Value);
        Assert.Equal(16, FromUnpaddedBase64(match.Groups["salt"].Value).Length);
        Assert.Equal(32, FromUnpaddedBase64(match.Groups["hash"].Value).Length);
        Assert.DoesNotContain("=", encoded[encoded.IndexOf("p=1$", StringComparison.Ordinal)..][4..]);
    }

    [Fact]
    public void HashWithOtherConfiguredParametersRecordsThem()
    {
        var encoded = new PasswordHasher(Fast(2048, 3)).Hash("some password");
        Assert.StartsWith("$argon2id$v=19$m=2048,t=3,p=1$", encoded);
    }

    [Fact]
    public void DefaultParametersAreNineteenMebibytesAndTwoPasses()
    {
        var encoded = new PasswordHasher(new SecurityOptions()).Hash("some password");
        Assert.StartsWith("$argon2id$v=19$m=19456,t=2,p=1$", encoded);
        Assert.Matches(Phc, encoded);
    }

    [Fact]
    public void TwoHashesOfSamePasswordDifferBecauseOfSalt()
    {
        var a = Hasher.Hash("same password here");
        var b = Hasher.Hash("same password here");
        Assert.NotEqual(a, b);
        Assert.NotEqual(Phc.Match(a).Groups["salt"].Value, Phc.Match(b).Groups["salt"].Value);
        Assert.True(Hasher.Verify("same password here", a));
        Assert.True(Hasher.Verify("same password here", b));
    }

    [Fact]
    public void NeedsRehashIsFalseWhenParametersAreEqual()
    {
        var encoded = Hasher.Hash("some password");
        Assert.False(Hasher.NeedsRehash(encoded));
        Assert.False(new PasswordHasher(Fast(1024, 1)).NeedsRehash(encoded));
    }

    [Fact]
    public void NeedsRehashIsTrueWhenMemoryDiffers()
    {
        var encoded = Hasher.Hash("some password");
        Assert.True(new PasswordHasher(Fast(2048, 1)).NeedsRehash(encoded));
    }

    [Fact]
    public void NeedsRehashIsTrueWhenIterationsDiffer()
    {
        var encoded = Hasher.Hash("some password");
        Assert.True(new PasswordHasher(Fast(1024, 2)).NeedsRehash(encoded));
    }

    [Fact]
    public void NeedsRehashIsTrueForUnparseableEncoding()
    {
        Assert.True(Hasher.NeedsRehash("$2b$10$abcdefghijklmnopqrstuv"));
        Assert.True(Hasher.NeedsRehash(""));
    }

    [Fact]
    public void HashWithOlderParametersStillVerifies()
    {
        var older = new PasswordHasher(Fast(1024, 1)).Hash("long lived password");
        var newer = new PasswordHasher(Fast(4096, 2));
        Assert.True(newer.Verify("long lived password", older));
        Assert.False(newer.Verify("another password", older));
        Assert.True(newer.NeedsRehash(older));
    }

    [Fact]
    public void PasswordIsNfkcNormalisedSoLigatureMatchesPlainLetters()
    {
        var withLigature = "my \uFB01ne password"; // U+FB01 LATIN SMALL LIGATURE FI
        var plain = "my fine password";
        Assert.NotEqual(plain, withLigature);
        Assert.True(Hasher.Verify(plain, Hasher.Hash(withLigature)));
        Assert.True(Hasher.Verify(withLigature, Hasher.Hash(plain)));
    }

    [Fact]
    public void NullEncodingReturnsFalse()
    {
        Assert.False(Hasher.Verify("some password", null));
    }

    public static TheoryData<string> MalformedEncodings()
    {
        var valid = new PasswordHasher(Fast()).Hash("some password");
        var match = Phc.Match(valid);
        var prefix = valid[..match.Groups["salt"].Index];
        var salt = match.Groups["salt"].Value;
        var hash = match.Groups["hash"].Value;
        return new TheoryData<string>
        {
            "",
            "$",
            "argon2id",
            "$argon2id$v=19$m=x",
            "$argon2id$v=19$m=x,t=1,p=1$" + salt + "$" + hash,
            "$argon2id$v=19$m=1024,t=y,p=1$" + salt + "$" + hash,
            "$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + hash,
            "$argon2id$v=19$m=1024,t=0,p=1$" + salt + "$" + hash,
            "$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + hash,
            "$argon2id$v=19$m=1024,t=1,p=4$" + salt + "$" + hash,
            "$argon2i$v=19$m=1024,t=1,p=1$" + salt + "$" + hash,
            "$argon2id$v=16$m=1024,t=1,p=1$" + salt + "$" + hash,
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            prefix + salt + "$" + hash[..^3],          // truncated hash
            prefix + salt[..^2] + "$" + hash,          // truncated salt
            prefix + salt + "$" + hash[..^1],          // length not valid base64
            prefix + salt + "$" + hash + "$extra",
            prefix + salt + "$" + "!!!not*base64!!!",
            prefix + salt,
            valid + "AAAA",                            // hash too long
        };
    }

    [Theory]
    [MemberData(nameof(MalformedEncodings))]
    public void MalformedEncodingReturnsFalseWithoutThrowing(string encoded)
    {
        var ex = Record.Exception(() => Assert.False(Hasher.Verify("some password", encoded)));
        Assert.Null(ex);
        Assert.Null(Record.Exception(() => Hasher.NeedsRehash(encoded)));
        Assert.True(Hasher.NeedsRehash(encoded));
    }

    [Fact]
    public void TamperedHashByteReturnsFalse()
    {
        var encoded = Hasher.Hash("some password");
        Assert.True(Hasher.Verify("some password", encoded));
        var match = Phc.Match(encoded);
        var hash = FromUnpaddedBase64(match.Groups["hash"].Value);
        hash[5] ^= 0x01;
        var tampered = encoded[..match.Groups["hash"].Index] + Convert.ToBase64String(hash).TrimEnd('=');
        Assert.NotEqual(encoded, tampered);
        Assert.False(Hasher.Verify("some password", tampered));
    }

    [Fact]
    public void TamperedSaltByteReturnsFalse()
    {
        var encoded = Hasher.Hash("some password");
        var match = Phc.Match(encoded);
        var salt = FromUnpaddedBase64(match.Groups["salt"].Value);
        salt[0] ^= 0x80;
        var tampered = encoded[..match.Groups["salt"].Index] + Convert.ToBase64String(salt).TrimEnd('=')
            + "$" + match.Groups["hash"].Value;
        Assert.False(Hasher.Verify("some password", tampered));
    }

    [Fact]
    public void VerifyDummyDoesNotThrow()
    {
        Assert.Null(Record.Exception(() => Hasher.VerifyDummy("anything at all")));
    }
}

public sealed class ImportedHashTests
{
    private static readonly PasswordHasher Hasher = new(new SecurityOptions { HashMemoryKiB = 1024, HashIterations = 1 });

    [Fact]
    public void BcryptVerifiesAndAsksForARehash()
    {
        var hash = BCrypt.Net.BCrypt.HashPassword("old system password", 4);
        Assert.Equal(hash, PasswordHasher.ImportFormat(hash));
        Assert.True(Hasher.Verify("old system password", hash));
        Assert.False(Hasher.Verify("old system password!", hash));
        Assert.True(Hasher.NeedsRehash(hash));
    }

    [Fact]
    public void IdentityHashesGetTheirPrefixVerifyAndAskForARehash()
    {
        var identity = new Microsoft.AspNetCore.Identity.PasswordHasher<object>();
        var raw = identity.HashPassword(new object(), "old system password");

        var stored = PasswordHasher.ImportFormat(raw);

        Assert.Equal(PasswordHasher.IdentityPrefix + raw, stored);
        Assert.Equal(stored, PasswordHasher.ImportFormat(stored)); // importing the stored form again is a no-op
        Assert.True(Hasher.Verify("old system password", stored));
        Assert.False(Hasher.Verify("Old system password", stored));
        Assert.False(Hasher.Verify("old system password", raw)); // without its prefix a hash names no scheme
        Assert.True(Hasher.NeedsRehash(stored!));
    }

    [Fact]
    public void AnArgon2idHashImportsAsItIs()
    {
        var hash = Hasher.Hash("password");
        Assert.Equal(hash, PasswordHasher.ImportFormat(hash));
        Assert.False(Hasher.NeedsRehash(hash));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("md5:5f4dcc3b5aa765d61d8327deb882cf99")]
    [InlineData("$2b$10$tooShort")]
    [InlineData("AQAAAAE=")]
    public void AnythingElseIsRefused(string? hash) => Assert.Null(PasswordHasher.ImportFormat(hash));

    [Fact]
    public void ACorruptBcryptHashFailsVerificationInsteadOfThrowing() =>
        Assert.False(Hasher.Verify("x", "$2a$10$" + new string('!', 53)));
}
