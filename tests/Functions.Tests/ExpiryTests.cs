using System.Net;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

public sealed class FakeClockFixture : AppFixture
{
    protected override bool FakeClock => true;
}

/// <summary>Lifetimes tested at the boundary with a fake clock: one second before works, one after does not.</summary>
public sealed class ExpiryTests(FakeClockFixture fixture) : IClassFixture<FakeClockFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task VerificationLinkWorksOneSecondBeforeItsLifetimeEnds()
    {
        var mail = await App.SignupAsync(TestApp.NewEmail());
        App.Clock!.Advance(TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1));

        var response = await App.PostAsync("/api/email/verify", new { token = mail.Token });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task VerificationLinkAndCodeFailOneSecondAfterTheirLifetimeEnds()
    {
        var email = TestApp.NewEmail();
        var mail = await App.SignupAsync(email);
        App.Clock!.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));

        var link = await App.PostAsync("/api/email/verify", new { token = mail.Token });
        var code = await App.PostAsync("/api/email/verify", new { email, code = mail.Code });

        Assert.Equal("invalid_token", await TestApp.Code(link));
        Assert.Equal("invalid_token", await TestApp.Code(code));
    }

    [Fact]
    public async Task AccessTokenIsRefusedOnceExpiredBeyondTheClockSkew()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString();

        App.Clock!.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(29));
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", access)).StatusCode);
        App.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", access)).StatusCode);
    }

    [Fact]
    public async Task RefreshTokenDiesAtTheSessionsAbsoluteLifetime()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var refresh = (await App.LoginAsync(email)).GetProperty("refreshToken").GetString();

        App.Clock!.Advance(TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1));
        var alive = await TestApp.Body(await App.PostAsync("/api/token/refresh", new { refreshToken = refresh }));
        App.Clock.Advance(TimeSpan.FromSeconds(2));
        var dead = await App.PostAsync("/api/token/refresh", new { refreshToken = alive.GetProperty("refreshToken").GetString() });

        Assert.Equal("invalid_token", await TestApp.Code(dead));
    }

    [Fact]
    public async Task RememberMeSessionsLastThirtyDays()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var session = await App.LoginAsync(email, rememberMe: true);
        Assert.Equal(30 * 86400, session.GetProperty("refreshExpiresIn").GetInt32());

        App.Clock!.Advance(TimeSpan.FromDays(30) - TimeSpan.FromSeconds(1));
        var alive = await App.PostAsync("/api/token/refresh", new { refreshToken = session.GetProperty("refreshToken").GetString() });
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task TheSweepLocksAnAccountWhoseEmailWasNotConfirmedByItsDeadlineAndOnlyThat()
    {
        var unconfirmed = TestApp.NewEmail("late");
        var confirmed = TestApp.NewEmail("prompt");
        await App.SignupAsync(unconfirmed);
        await App.SignupVerifiedAsync(confirmed);

        App.Clock!.Advance(TimeSpan.FromDays(3) - TimeSpan.FromSeconds(1));
        var early = await App.SweepAsync();
        Assert.Equal(0, early.Locked);

        App.Clock.Advance(TimeSpan.FromSeconds(2));
        var sweeps = await Task.WhenAll(App.SweepAsync(), App.SweepAsync());
        var locked = 0;
        foreach (var s in sweeps) locked += s.Locked;
        Assert.True(locked >= 1, "the due account was locked"); // other tests' unconfirmed accounts may be due too

        Assert.Equal("account_locked", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = unconfirmed, password = TestApp.Password })));
        await App.LoginAsync(confirmed);
        var notices = await App.Mail.WaitForAsync(unconfirmed, 2);
        Assert.Equal(1, notices.Count(m => m.Subject == "Your account has been locked"));
        var again = await App.SweepAsync();
        Assert.Equal(0, again.Locked);
    }

    [Fact]
    public async Task TheSweepReadsEveryShardOfTheDueHoursAndNothingLater()
    {
        var now = App.Clock!.GetUtcNow();
        // One marker per shard, due now, for accounts that do not exist: the sweep examines and drops each.
        var keys = new Dictionary<char, string>();
        while (keys.Count < DueRow.Shards) { var k = "nobody" + Guid.NewGuid().ToString("N"); keys.TryAdd(DueRow.Shard(k), k); }
        foreach (var k in keys.Values)
            await App.Storage.Due.UpsertEntityAsync(DueRow.For(DueRow.Deadline, k, now - TimeSpan.FromSeconds(1)), Azure.Data.Tables.TableUpdateMode.Replace);
        var later = DueRow.For(DueRow.Deadline, "nobody-later" + Guid.NewGuid().ToString("N"), now + TimeSpan.FromHours(1));
        await App.Storage.Due.UpsertEntityAsync(later, Azure.Data.Tables.TableUpdateMode.Replace);

        var sweep = await App.SweepAsync();
        Assert.True(sweep.Examined >= DueRow.Shards);

        foreach (var k in keys.Values)
            Assert.Null(await App.Storage.Due.GetOrNullAsync<DueRow>(DueRow.Partition(DueRow.Deadline, now - TimeSpan.FromSeconds(1), k), k));
        Assert.NotNull(await App.Storage.Due.GetOrNullAsync<DueRow>(later.PartitionKey, later.RowKey));
        await App.Storage.Due.DeleteEntityAsync(later.PartitionKey, later.RowKey);
    }

    [Fact]
    public async Task AThrottledIdentifierMayTryAgainWhenTheLockoutWindowEnds()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        for (var i = 0; i < 10; i++) await App.PostAsync("/api/login", new { identifier = email, password = "wrong passphrase" });
        var throttled = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        var wait = int.Parse(throttled.Headers.GetValues("Retry-After").Single());

        App.Clock!.Advance(TimeSpan.FromSeconds(wait));

        await App.LoginAsync(email);
    }
}
