using System.Net;
using System.Net.Http.Json;
using AccountFunctions.Functions.Tests.Support;
using Xunit;

namespace AccountFunctions.Functions.Tests;

public sealed class RateLimitFixture : AppFixture
{
    protected override bool FakeClock => true;
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["RateLimits__Login__PermitLimit"] = "5",
        ["RateLimits__Login__Window"] = "00:01:00",
        ["RateLimits__Signup__PermitLimit"] = "3",
        ["RateLimits__Signup__Window"] = "00:10:00",
        ["RateLimits__CodeEntry__PermitLimit"] = "4",
        ["RateLimits__CodeEntry__Window"] = "00:10:00",
        ["Lockout__MaxFailedAttempts"] = "3",
        ["Lockout__Duration"] = "00:01:00",
        ["Lockout__MaxDuration"] = "00:03:00",
    };
}

/// <summary>Per-IP limits per endpoint group, and the per-identifier throttle's growing back-off.</summary>
public sealed class RateLimitTests(RateLimitFixture fixture) : IClassFixture<RateLimitFixture>
{
    private TestApp App => fixture.App;
    private static int _ip;
    private static string NewIp() => $"198.51.100.{Interlocked.Increment(ref _ip) % 250 + 1}";

    private static async Task<HttpResponseMessage> PostFromAsync(TestApp app, string ip, string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        // The client may write entries of its own; only the last (the front end's) counts.
        request.Headers.Add("X-Forwarded-For", $"10.0.0.{Random.Shared.Next(1, 250)}, {ip}");
        return await app.Http.SendAsync(request);
    }

    [Fact]
    public async Task LoginsFromOneAddressAreLimitedWith429AndRetryAfterWhileOtherAddressesGoOn()
    {
        var ip = NewIp();
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await PostFromAsync(App, ip, "/api/login", new { identifier = TestApp.NewEmail(), password = "whatever it is" })).StatusCode);

        var limited = await PostFromAsync(App, ip, "/api/login", new { identifier = TestApp.NewEmail(), password = "whatever it is" });
        var elsewhere = await PostFromAsync(App, NewIp(), "/api/login", new { identifier = TestApp.NewEmail(), password = "whatever it is" });

        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.Equal("too_many_requests", await TestApp.Code(limited));
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.InRange(int.Parse(limited.Headers.GetValues("Retry-After").Single()), 1, 60);
        Assert.Equal(HttpStatusCode.Unauthorized, elsewhere.StatusCode);
    }

    [Fact]
    public async Task TheWindowEndsAndTheAddressMayTryAgain()
    {
        var ip = NewIp();
        for (var i = 0; i < 5; i++) await PostFromAsync(App, ip, "/api/login", new { identifier = TestApp.NewEmail(), password = "whatever it is" });
        var limited = await PostFromAsync(App, ip, "/api/login", new { identifier = TestApp.NewEmail(), password = "whatever it is" });
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);

        App.Clock!.Advance(TimeSpan.FromSeconds(int.Parse(limited.Headers.GetValues("Retry-After").Single())));

        Assert.Equal(HttpStatusCode.Unauthorized,
            (await PostFromAsync(App, ip, "/api/login", new { identifier = TestApp.NewEmail(), password = "whatever it is" })).StatusCode);
    }

    [Fact]
    public async Task SignupIsLimitedPerAddressAndEveryRequestCountsEvenMalformedOnes()
    {
        var ip = NewIp();
        Assert.Equal(HttpStatusCode.BadRequest, (await PostFromAsync(App, ip, "/api/signup", new { email = "not an email", password = "x" })).StatusCode);
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await PostFromAsync(App, ip, "/api/signup", new { email = TestApp.NewEmail(), password = TestApp.Password })).StatusCode);

        var limited = await PostFromAsync(App, ip, "/api/signup/anonymous", new { password = TestApp.Password });

        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter is not null);
    }

    [Fact]
    public async Task CodeEntryIsLimitedPerAddressAcrossEndpoints()
    {
        var ip = NewIp();
        Assert.Equal(HttpStatusCode.BadRequest, (await PostFromAsync(App, ip, "/api/email/verify", new { email = TestApp.NewEmail(), code = "123456" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostFromAsync(App, ip, "/api/login/email/redeem", new { email = TestApp.NewEmail(), code = "123456" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostFromAsync(App, ip, "/api/password/reset", new { token = "x.y", newPassword = TestApp.Password })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostFromAsync(App, ip, "/api/email/verify", new { email = TestApp.NewEmail(), code = "654321" })).StatusCode);

        var limited = await PostFromAsync(App, ip, "/api/login/email/redeem", new { email = TestApp.NewEmail(), code = "000000" });

        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
    }

    [Fact]
    public async Task EachBlockOfAnIdentifierLastsTwiceAsLongAsTheOneBeforeUpToTheCap()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var waits = new List<int>();
        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 3; i++)
                Assert.Equal(HttpStatusCode.Unauthorized, (await PostFromAsync(App, NewIp(), "/api/login", new { identifier = email, password = "wrong passphrase" })).StatusCode);
            var blocked = await PostFromAsync(App, NewIp(), "/api/login", new { identifier = email, password = TestApp.Password });
            Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
            var wait = int.Parse(blocked.Headers.GetValues("Retry-After").Single());
            waits.Add(wait);
            App.Clock!.Advance(TimeSpan.FromSeconds(wait - 1));
            Assert.Equal((HttpStatusCode)429, (await PostFromAsync(App, NewIp(), "/api/login", new { identifier = email, password = TestApp.Password })).StatusCode);
            App.Clock!.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal([60, 120, 180, 180], waits); // 1 min, doubled, then the 3-minute cap
        Assert.Equal(HttpStatusCode.OK, (await PostFromAsync(App, NewIp(), "/api/login", new { identifier = email, password = TestApp.Password })).StatusCode);
    }

    [Fact]
    public async Task TheBackOffStartsOverADayAfterTheLastBlock()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        async Task<int> BlockAsync()
        {
            for (var i = 0; i < 3; i++) await PostFromAsync(App, NewIp(), "/api/login", new { identifier = email, password = "wrong passphrase" });
            var blocked = await PostFromAsync(App, NewIp(), "/api/login", new { identifier = email, password = TestApp.Password });
            Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
            return int.Parse(blocked.Headers.GetValues("Retry-After").Single());
        }

        Assert.Equal(60, await BlockAsync());
        App.Clock!.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));

        Assert.Equal(60, await BlockAsync());
    }

    [Fact]
    public async Task InstancesShareTheCounters()
    {
        // Two apps on one storage, syncing every hit: together they allow the limit, not twice it.
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var settings = new Dictionary<string, string?>
        {
            ["Storage__Prefix"] = prefix,
            ["RateLimits__Login__PermitLimit"] = "4",
            ["RateLimits__SyncEvery"] = "1",
        };
        await using var first = await TestApp.StartAsync(settings);
        await using var second = await TestApp.StartAsync(settings);
        var ip = NewIp();
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
            answers.Add((await PostFromAsync(i % 2 == 0 ? first : second, ip, "/api/login", new { identifier = TestApp.NewEmail(), password = "whatever it is" })).StatusCode);

        Assert.Equal(4, answers.Count(a => a == HttpStatusCode.Unauthorized));
        Assert.Equal(2, answers.Count(a => a == (HttpStatusCode)429));
    }
}
