using System.Security.Cryptography;
using System.Text;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Tests;

/// <summary>
/// Access-token validation: what is accepted and what is refused, with keys given as settings (so
/// TokenKeys never reaches storage) and the clock a FakeTimeProvider.
/// </summary>
public sealed class AccessTokensTests
{
    private const string BaseUrl = "https://accounts.example.test";
    private static readonly string CurrentKey = NewKeyPem();
    private static readonly string PreviousKey = NewKeyPem();
    private static readonly string UnknownKey = NewKeyPem();
    private static readonly string TokenKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero)); // a whole second: exp is in seconds

    private static string NewKeyPem() => ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportECPrivateKeyPem();

    /// <summary>The app's AccessTokens with these settings. Storage is never contacted: every key is configured.</summary>
    private static AccessTokens Tokens(TimeProvider clock, string signingKey = "", string? previousKey = null,
        string? issuer = null, string? audience = null)
    {
        var jwt = new JwtOptions { SigningKey = signingKey.Length > 0 ? signingKey : CurrentKey, PreviousSigningKey = previousKey, Issuer = issuer, Audience = audience };
        var storage = new StorageContext("UseDevelopmentStorage=true", new StorageOptions());
        var keys = new TokenKeys(new KeysTable(storage), new SecurityOptions { TokenKey = TokenKey }, jwt);
        return new AccessTokens(keys, jwt, new AccountsOptions { PublicBaseUrl = BaseUrl }, clock);
    }

    private AccessTokens App => Tokens(_clock, previousKey: PreviousKey);

    private static async Task<string> KidAsync(string pem)
    {
        var jwt = new JwtOptions { SigningKey = pem };
        var keys = new TokenKeys(new KeysTable(new StorageContext("UseDevelopmentStorage=true", new StorageOptions())), new SecurityOptions { TokenKey = TokenKey }, jwt);
        return (await keys.SigningKeyAsync()).KeyId;
    }

    /// <summary>A token with the app's claims, signed as the caller says (for algorithms the app never uses).</summary>
    private string Forge(SigningCredentials credentials) => new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
    {
        Issuer = BaseUrl,
        Audience = BaseUrl,
        IssuedAt = _clock.GetUtcNow().UtcDateTime,
        NotBefore = _clock.GetUtcNow().UtcDateTime,
        Expires = _clock.GetUtcNow().UtcDateTime.AddMinutes(15),
        TokenType = "at+jwt",
        Claims = new Dictionary<string, object> { ["sub"] = "acc1", ["sid"] = "ses1", ["role"] = "admin" },
        SigningCredentials = credentials,
    });

    private static string B64(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));

    [Fact]
    public async Task AValidTokenGivesItsAccountSessionAndRole()
    {
        var token = await App.IssueAsync("acc1", "ses1", "user");

        var claims = await App.ValidateAsync(token);

        Assert.Equal(new AccessClaims("acc1", "ses1", "user"), claims);
    }

    [Fact]
    public async Task ATokenIsAcceptedUntilItsExpiryPlusTheClockSkewAndRefusedOneSecondAfter()
    {
        var tokens = App;
        var token = await tokens.IssueAsync("acc1", "ses1", "user");

        _clock.Advance(tokens.Lifetime + new JwtOptions().ClockSkew);
        Assert.NotNull(await tokens.ValidateAsync(token));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await tokens.ValidateAsync(token));
    }

    [Fact]
    public async Task ATokenFromTheFutureIsAcceptedWithinTheClockSkewAndRefusedOneSecondBeyond()
    {
        // Issued by a clock ahead of the validating one (another instance, or a skewed one).
        var ahead = new FakeTimeProvider(_clock.GetUtcNow() + new JwtOptions().ClockSkew);
        var withinSkew = await Tokens(ahead).IssueAsync("acc1", "ses1", "user");
        ahead.Advance(TimeSpan.FromSeconds(1));
        var beyondSkew = await Tokens(ahead).IssueAsync("acc1", "ses1", "user");

        Assert.NotNull(await App.ValidateAsync(withinSkew));
        Assert.Null(await App.ValidateAsync(beyondSkew));
    }

    [Fact]
    public async Task ATokenForAnotherIssuerOrAudienceIsRefused()
    {
        var otherIssuer = await Tokens(_clock, issuer: "https://other.example.test").IssueAsync("acc1", "ses1", "user");
        var otherAudience = await Tokens(_clock, audience: "https://other.example.test").IssueAsync("acc1", "ses1", "user");
        var trailingSlash = await Tokens(_clock, audience: BaseUrl + "/").IssueAsync("acc1", "ses1", "user");

        Assert.Null(await App.ValidateAsync(otherIssuer));
        Assert.Null(await App.ValidateAsync(otherAudience));
        Assert.Null(await App.ValidateAsync(trailingSlash));
    }

    [Fact]
    public async Task AnUnsignedTokenWithAlgNoneIsRefused()
    {
        var valid = await App.IssueAsync("acc1", "ses1", "user");
        var payload = valid.Split('.')[1];
        var kid = await KidAsync(CurrentKey);

        var none = $"{B64($$"""{"alg":"none","typ":"at+jwt","kid":"{{kid}}"}""")}.{payload}.";

        Assert.Null(await App.ValidateAsync(none));
    }

    [Fact]
    public async Task ATokenSignedWithAnotherAlgorithmIsRefused()
    {
        var kid = await KidAsync(CurrentKey);
        // HS256 under a secret the attacker chose, naming our key; and ES384 under our own key.
        var hs256 = Forge(new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = kid }, SecurityAlgorithms.HmacSha256));
        var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(CurrentKey);
        var es384 = Forge(new SigningCredentials(new ECDsaSecurityKey(ecdsa) { KeyId = kid }, SecurityAlgorithms.EcdsaSha384));

        Assert.Null(await App.ValidateAsync(hs256));
        Assert.Null(await App.ValidateAsync(es384));
    }

    [Fact]
    public async Task ATokenWithATamperedSignatureOrPayloadIsRefused()
    {
        var token = await App.IssueAsync("acc1", "ses1", "user");
        var parts = token.Split('.');
        var signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        signature[10] ^= 0x01;
        var tamperedSignature = $"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(signature)}";
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1]));
        var tamperedPayload = $"{parts[0]}.{B64(payload.Replace("\"role\":\"user\"", "\"role\":\"admin\"", StringComparison.Ordinal))}.{parts[2]}";

        Assert.Contains("\"role\":\"user\"", payload);
        Assert.Null(await App.ValidateAsync(tamperedSignature));
        Assert.Null(await App.ValidateAsync(tamperedPayload));
    }

    [Fact]
    public async Task ATokenSignedByThePreviousKeyIsAcceptedDuringARotation()
    {
        var signedBefore = await Tokens(_clock, signingKey: PreviousKey).IssueAsync("acc1", "ses1", "user");

        Assert.Equal(new AccessClaims("acc1", "ses1", "user"), await App.ValidateAsync(signedBefore));
        Assert.Null(await Tokens(_clock).ValidateAsync(signedBefore)); // once the previous key is dropped, no longer
    }

    [Fact]
    public async Task ATokenSignedByAnUnknownKeyIsRefusedEvenWhenItNamesOurKey()
    {
        var unknown = await Tokens(_clock, signingKey: UnknownKey).IssueAsync("acc1", "ses1", "user");
        var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(UnknownKey);
        var posing = Forge(new SigningCredentials(new ECDsaSecurityKey(ecdsa) { KeyId = await KidAsync(CurrentKey) }, SecurityAlgorithms.EcdsaSha256));

        Assert.Null(await App.ValidateAsync(unknown));
        Assert.Null(await App.ValidateAsync(posing));
    }
}
