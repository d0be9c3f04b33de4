using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// Forged and misused access tokens are refused (401) on GET /api/me. Each forgery carries the claims
/// of a live session (its real sub and sid), so the only thing wrong is what the test changes; where it
/// needs to, the test signs with the app's own key, so a 401 proves that one check and not another.
/// Covered elsewhere and not repeated here: a token expired by the skew + 1 s
/// (ExpiryTests.AccessTokenIsRefusedOnceExpiredBeyondTheClockSkew), a token of a logged-out session
/// (LoginTests.LogoutEndsTheAccessTokenAtOnce) and of a locked account (ManageTests).
/// </summary>
public sealed class TokenAttackTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    private sealed record Live(string AccessToken, string RefreshToken, JsonObject Header, JsonObject Payload);

    private async Task<Live> SignInAsync()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("victim"));
        var session = await App.LoginAsync(email);
        var access = session.GetProperty("accessToken").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", access)).StatusCode); // the genuine token works
        var parts = access.Split('.');
        return new Live(access, session.GetProperty("refreshToken").GetString()!,
            JsonNode.Parse(Base64UrlEncoder.Decode(parts[0]))!.AsObject(),
            JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject());
    }

    private async Task<ECDsa> AppKeyAsync() => (await App.Services.GetRequiredService<TokenKeys>().SigningKeyAsync()).ECDsa;

    private static string Part(JsonNode node) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(node.ToJsonString()));

    private static string SignEs256(JsonObject header, JsonObject payload, ECDsa key)
    {
        var input = Part(header) + "." + Part(payload);
        return input + "." + Base64UrlEncoder.Encode(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256));
    }

    private static string SignHs256(JsonObject header, JsonObject payload, byte[] secret)
    {
        var input = Part(header) + "." + Part(payload);
        return input + "." + Base64UrlEncoder.Encode(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)));
    }

    private static JsonObject With(JsonObject source, string name, JsonNode? value)
    {
        var copy = source.DeepClone().AsObject();
        copy[name] = value?.DeepClone();
        return copy;
    }

    private async Task AssertRefusedAsync(string token, string what)
    {
        var response = await App.GetAsync("/api/me", token);
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: answered {(int)response.StatusCode}");
        Assert.Equal("unauthorized", await TestApp.Code(response));
    }

    [Fact]
    public async Task TheAppsOwnKeyWithTheRightClaimsIsAccepted()
    {
        // The control for the forgeries below: the same construction with nothing changed passes,
        // so their 401s come from what each one changes.
        var live = await SignInAsync();
        var token = SignEs256(live.Header, live.Payload, await AppKeyAsync());
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", token)).StatusCode);
    }

    [Fact]
    public async Task AlgNoneWithALiveSessionsClaimsIsRefused()
    {
        var live = await SignInAsync();
        var header = With(live.Header, "alg", "none");
        await AssertRefusedAsync(Part(header) + "." + Part(live.Payload) + ".", "alg none, empty signature");
        await AssertRefusedAsync(Part(header) + "." + Part(live.Payload) + "." + live.AccessToken.Split('.')[2], "alg none, old signature");
    }

    [Fact]
    public async Task Hs256SignedWithThePublicKeyIsRefused()
    {
        var live = await SignInAsync();
        var header = With(live.Header, "alg", "HS256");
        using var jwks = JsonDocument.Parse(await App.Http.GetStringAsync("/api/.well-known/jwks.json"));
        var jwk = jwks.RootElement.GetProperty("keys")[0];
        var x = Base64UrlEncoder.DecodeBytes(jwk.GetProperty("x").GetString());
        var y = Base64UrlEncoder.DecodeBytes(jwk.GetProperty("y").GetString());
        var appKey = await AppKeyAsync();
        var secrets = new Dictionary<string, byte[]>
        {
            ["x||y"] = [.. x, .. y],
            ["04||x||y"] = [0x04, .. x, .. y],
            ["SPKI DER"] = appKey.ExportSubjectPublicKeyInfo(),
            ["PEM"] = Encoding.ASCII.GetBytes(appKey.ExportSubjectPublicKeyInfoPem()),
            ["PEM + newline"] = Encoding.ASCII.GetBytes(appKey.ExportSubjectPublicKeyInfoPem() + "\n"),
            ["JWKS JSON"] = Encoding.UTF8.GetBytes(jwk.GetRawText()),
        };
        foreach (var (name, secret) in secrets)
            await AssertRefusedAsync(SignHs256(header, live.Payload, secret), $"HS256 keyed with {name}");
    }

    [Fact]
    public async Task ATokenSignedByAnotherEcKeyIsRefusedWhateverItsHeaderPointsAt()
    {
        var live = await SignInAsync();
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = attacker.ExportParameters(false);
        var attackerJwk = new JsonObject
        {
            ["kty"] = "EC", ["crv"] = "P-256", ["use"] = "sig", ["kid"] = live.Header["kid"]?.GetValue<string>() ?? "attacker",
            ["x"] = Base64UrlEncoder.Encode(p.Q.X), ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
        };
        var headers = new Dictionary<string, JsonObject>
        {
            ["plain (same kid)"] = live.Header,
            ["jwk"] = With(live.Header, "jwk", attackerJwk),
            ["jku"] = With(live.Header, "jku", "https://attacker.example.test/jwks.json"),
            ["x5u"] = With(live.Header, "x5u", "https://attacker.example.test/cert.pem"),
            ["jwk without kid"] = With(With(live.Header, "kid", null), "jwk", attackerJwk),
        };
        foreach (var (name, header) in headers)
            await AssertRefusedAsync(SignEs256(header, live.Payload, attacker), $"attacker key, {name}");
    }

    [Fact]
    public async Task TheAppsOwnKeyWithTheWrongAudienceIssuerOrTypeIsRefused()
    {
        var live = await SignInAsync();
        var key = await AppKeyAsync();
        var aud = live.Payload["aud"]!.GetValue<string>();
        var iss = live.Payload["iss"]!.GetValue<string>();
        await AssertRefusedAsync(SignEs256(live.Header, With(live.Payload, "aud", "https://other.example.test"), key), "wrong aud");
        await AssertRefusedAsync(SignEs256(live.Header, With(live.Payload, "aud", null), key), "no aud");
        await AssertRefusedAsync(SignEs256(live.Header, With(live.Payload, "aud", aud + "/"), key), "aud with a trailing slash");
        await AssertRefusedAsync(SignEs256(live.Header, With(live.Payload, "iss", "https://attacker.example.test"), key), "wrong iss");
        await AssertRefusedAsync(SignEs256(live.Header, With(live.Payload, "iss", null), key), "no iss");
        await AssertRefusedAsync(SignEs256(live.Header, With(live.Payload, "iss", iss.ToUpperInvariant()), key), "iss in upper case");
        await AssertRefusedAsync(SignEs256(With(live.Header, "typ", "JWT"), live.Payload, key), "typ JWT (not an access token)");
        await AssertRefusedAsync(SignEs256(live.Header, With(live.Payload, "exp", null), key), "no exp");
        await AssertRefusedAsync(SignEs256(live.Header, With(live.Payload, "sid", Guid.NewGuid().ToString("N")), key), "a session that never existed");
    }

    [Fact]
    public async Task ATamperedPayloadOrSignatureIsRefused()
    {
        var live = await SignInAsync();
        var parts = live.AccessToken.Split('.');
        var admin = With(live.Payload, "role", "admin");
        await AssertRefusedAsync(parts[0] + "." + Part(admin) + "." + parts[2], "role changed to admin, signature kept");
        var later = With(live.Payload, "exp", live.Payload["exp"]!.GetValue<long>() + 86_400);
        await AssertRefusedAsync(parts[0] + "." + Part(later) + "." + parts[2], "exp moved a day on, signature kept");
        var signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        signature[^1] ^= 1;
        await AssertRefusedAsync(parts[0] + "." + parts[1] + "." + Base64UrlEncoder.Encode(signature), "one signature bit flipped");
    }

    [Fact]
    public async Task ARefreshTokenIsNotABearerToken()
    {
        var live = await SignInAsync();
        await AssertRefusedAsync(live.RefreshToken, "refresh token as bearer");
        // The refresh token still works for what it is for: the refusal above is not a side effect.
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/token/refresh", new { refreshToken = live.RefreshToken })).StatusCode);
    }

    [Fact]
    public async Task ATokenWhoseSessionWasEndedFromAnotherDeviceIsRefused()
    {
        var live = await SignInAsync();
        var sid = live.Payload["sid"]!.GetValue<string>();
        var other = await App.LoginAsync(await EmailOfAsync(live.AccessToken));
        var ended = await App.SendAsync(HttpMethod.Delete, $"/api/me/sessions/{sid}", bearer: other.GetProperty("accessToken").GetString());
        Assert.True(ended.IsSuccessStatusCode, $"ending the session answered {(int)ended.StatusCode}");
        await AssertRefusedAsync(live.AccessToken, "token of an ended session");
    }

    private async Task<string> EmailOfAsync(string access) =>
        (await TestApp.Body(await App.GetAsync("/api/me", access))).GetProperty("email").GetString()!;
}
