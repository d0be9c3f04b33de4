using System.Net;
using System.Security.Cryptography;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// Signing-key rotation: an app whose current key is key2 and previous key is key1 accepts tokens
/// key1 signed and publishes both kids; an app without the previous key refuses them.
/// </summary>
public sealed class KeyRotationTests
{
    private static string NewKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportECPrivateKeyPem();

    private static async Task<string[]> KidsAsync(TestApp app) =>
        (await TestApp.Body(await app.GetAsync("/api/.well-known/jwks.json"))).GetProperty("keys").EnumerateArray()
            .Select(k => k.GetProperty("kid").GetString()!).ToArray();

    [Fact]
    public async Task TokensSignedWithThePreviousKeyValidateAndTheJwksListsBothKeys()
    {
        string key1 = NewKey(), key2 = NewKey();
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10]; // one storage: sessions are shared
        await using var a = await TestApp.StartAsync(new Dictionary<string, string?> { ["Storage:Prefix"] = prefix, ["Jwt:SigningKey"] = key1 });
        var email = await a.SignupVerifiedAsync(TestApp.NewEmail("rotate"));
        var oldToken = (await a.LoginAsync(email)).GetProperty("accessToken").GetString()!;
        var kid1 = Assert.Single(await KidsAsync(a));

        await using var b = await TestApp.StartAsync(new Dictionary<string, string?>
            { ["Storage:Prefix"] = prefix, ["Jwt:SigningKey"] = key2, ["Jwt:PreviousSigningKey"] = key1 });
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/api/me", oldToken)).StatusCode);
        var kids = await KidsAsync(b);
        Assert.Equal(2, kids.Length);
        Assert.Equal(kid1, kids[1]);
        Assert.NotEqual(kid1, kids[0]);
        var newToken = (await b.LoginAsync(email)).GetProperty("accessToken").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/api/me", newToken)).StatusCode);

        // After the overlap the previous key is removed: its tokens are refused.
        await using var c = await TestApp.StartAsync(new Dictionary<string, string?> { ["Storage:Prefix"] = prefix, ["Jwt:SigningKey"] = key2 });
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/api/me", oldToken)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/me", newToken)).StatusCode);
        Assert.Equal(kids[0], Assert.Single(await KidsAsync(c)));
    }
}
