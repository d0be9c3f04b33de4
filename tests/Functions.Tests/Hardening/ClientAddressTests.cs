using System.Net;
using System.Net.Http.Json;
using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

public sealed class TightLoginLimitFixture : AppFixture
{
    public const int Limit = 3;
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["RateLimits:Login:PermitLimit"] = Limit.ToString(),
        ["RateLimits:SyncEvery"] = "1",
    };
}

public sealed class SecondHopFixture : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["RateLimits:Login:PermitLimit"] = TightLoginLimitFixture.Limit.ToString(),
        ["RateLimits:SyncEvery"] = "1",
        ["ClientIp:Header"] = "X-Forwarded-For",
        ["ClientIp:HopFromEnd"] = "2",
    };
}

/// <summary>Issue 15.3: per-IP limits count parsed clients (IPv6 per /64, junk as one), not header text.</summary>
public sealed class ClientAddressTests(TightLoginLimitFixture fixture, SecondHopFixture secondHop)
    : IClassFixture<TightLoginLimitFixture>, IClassFixture<SecondHopFixture>
{
    private static async Task<HttpStatusCode> LoginFromAsync(TestApp app, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/login")
        {
            Content = JsonContent.Create(new { identifier = TestApp.NewEmail("nobody"), password = "wrong password here" }),
        };
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        return (await app.Http.SendAsync(request)).StatusCode;
    }

    /// <summary>Every spelling is sent once; the limit allows 3, so the 4th spelling onwards must be 429.</summary>
    private static async Task AssertOneClientAsync(TestApp app, params string[] spellings)
    {
        Assert.True(spellings.Length > TightLoginLimitFixture.Limit);
        var statuses = new List<HttpStatusCode>();
        foreach (var s in spellings) statuses.Add(await LoginFromAsync(app, s));
        Assert.All(statuses.Take(TightLoginLimitFixture.Limit), s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.All(statuses.Skip(TightLoginLimitFixture.Limit), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
    }

    private static int Octet() => Random.Shared.Next(1, 255);

    [Fact]
    public async Task PortsDoNotMakeAnIPv4AddressANewClient()
    {
        var ip = $"198.18.{Octet()}.{Octet()}";
        await AssertOneClientAsync(fixture.App, $"{ip}:1001", $"{ip}:1002", $" {ip} ", $"{ip}:1003", $"10.1.1.1, {ip}:1004");
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginFromAsync(fixture.App, $"198.19.{Octet()}.{Octet()}")); // another client goes on
    }

    [Fact]
    public async Task IPv6SpellingsBracketsPortsAndTheSame64AreOneClient()
    {
        var p = $"2001:db8:{Random.Shared.Next(1, 0xffff):x}:{Random.Shared.Next(1, 0xffff):x}";
        var padded = string.Join(':', p.Split(':').Select(g => g.PadLeft(4, '0')));
        await AssertOneClientAsync(fixture.App, $"{p}::7", $"{padded}:0000::7".ToUpperInvariant(), $"[{p}::7]", $"[{p}::7]:443", $"{p}::8", $"{p}:1:2:3:4");
    }

    [Fact]
    public async Task AnIPv4MappedIPv6AddressIsItsIPv4Address()
    {
        var ip = $"198.18.{Octet()}.{Octet()}";
        await AssertOneClientAsync(fixture.App, $"::ffff:{ip}", ip, $"[::ffff:{ip}]:80", $"::FFFF:{ip}");
    }

    [Fact]
    public async Task JunkIsOneSharedUnknownClientNotAFreshOneEachTime()
    {
        // All junk shares one counter for the fixture's life: use it up, then every junk spelling is refused.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < TightLoginLimitFixture.Limit + 2; i++) statuses.Add(await LoginFromAsync(fixture.App, $"junk-{Guid.NewGuid():N}"));
        foreach (var junk in new[] { "not an address", "999.1.1.1", "1", "0x7f.1", "[nope]", "192.0.2.7:99999", "unknown" })
            statuses.Add(await LoginFromAsync(fixture.App, junk));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        Assert.True(statuses.Count(s => s == HttpStatusCode.Unauthorized) <= TightLoginLimitFixture.Limit);
    }

    [Fact]
    public async Task TheSessionRecordsTheParsedAddress()
    {
        var email = TestApp.NewEmail("where");
        await fixture.App.SignupVerifiedAsync(email);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/login") { Content = JsonContent.Create(new { identifier = email, password = TestApp.Password }) };
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.50, [2001:DB8:0000::0042]:8443");
        var login = await fixture.App.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var access = (await TestApp.Body(login)).GetProperty("accessToken").GetString();
        var sessions = await TestApp.Body(await fixture.App.GetAsync("/api/me/sessions", access));
        Assert.Equal("2001:db8::42", sessions[0].GetProperty("ipAddress").GetString());
    }

    [Fact]
    public async Task TheSettingCanNameAnEarlierHop()
    {
        // HopFromEnd 2: one proxy of the deployment's own appends the last entry; the one before is the client.
        var client = $"198.18.{Octet()}.{Octet()}";
        await AssertOneClientAsync(secondHop.App, $"{client}, 10.0.0.1", $"{client}, 10.0.0.2", $"1.2.3.4, {client}:5, 10.0.0.3", $"{client}, 10.0.0.4");
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginFromAsync(secondHop.App, $"198.19.{Octet()}.{Octet()}, 10.0.0.1"));
    }

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("192.0.2.7:1001", "192.0.2.7")]
    [InlineData("\"192.0.2.7\"", "192.0.2.7")]
    [InlineData("2001:0DB8:0000::7", "2001:db8::7")]
    [InlineData("[2001:db8::7]", "2001:db8::7")]
    [InlineData("[2001:db8::7]:443", "2001:db8::7")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("fe80::1%eth0", "fe80::1")]
    [InlineData("junk", null)]
    [InlineData("1", null)]
    [InlineData("0x7f.0.0.1", null)]
    [InlineData("192.0.2.7:", null)]
    [InlineData("[2001:db8::7", null)]
    [InlineData("", null)]
    public void AddressesAreParsedToOneCanonicalForm(string raw, string? expected) =>
        Assert.Equal(expected, ClientAddress.Parse(raw));

    [Fact]
    public void IPv6IsLimitedPer64AndJunkIsUnknown()
    {
        Assert.Equal("2001:db8:1:2::/64", ClientAddress.LimitKey(ClientAddress.Parse("2001:db8:1:2:aaaa::1")));
        Assert.Equal(ClientAddress.LimitKey("2001:db8:1:2::9"), ClientAddress.LimitKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        Assert.NotEqual(ClientAddress.LimitKey("2001:db8:1:2::9"), ClientAddress.LimitKey("2001:db8:1:3::9"));
        Assert.Equal("192.0.2.7", ClientAddress.LimitKey("192.0.2.7"));
        Assert.Equal(ClientAddress.Unknown, ClientAddress.LimitKey(null));
    }
}
