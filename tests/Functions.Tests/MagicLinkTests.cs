using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

public sealed class MagicLinkTests(FakeClockFixture fixture) : IClassFixture<FakeClockFixture>
{
    private TestApp App => fixture.App;

    private async Task<SentEmail> RequestAsync(string email)
    {
        var before = App.Mail.To(email).Count;
        var response = await App.PostAsync("/api/login/email", new { email });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var mail = (await App.Mail.WaitForAsync(email, before + 1))[before];
        Assert.Equal("Your sign-in link", mail.Subject);
        return mail;
    }

    [Fact]
    public async Task RedeemingInCookieModeWithRememberMeKeepsTheRefreshTokenOutOfTheBody()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("magic"));
        var mail = await RequestAsync(email);

        var redeem = await App.PostAsync("/api/login/email/redeem", new { token = mail.Token, useCookie = true, rememberMe = true });

        Assert.Equal(HttpStatusCode.OK, redeem.StatusCode);
        var body = await TestApp.Body(redeem);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, body.GetProperty("refreshToken").ValueKind);
        Assert.StartsWith("__Host-refresh=", Assert.Single(redeem.Headers.GetValues("Set-Cookie")));
        Assert.True(body.GetProperty("refreshExpiresIn").GetInt32() > (int)TimeSpan.FromDays(29).TotalSeconds); // remember-me lifetime
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheLinkOrTheCodeSignsInOnce(bool byLink)
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("magic"));
        var mail = await RequestAsync(email);
        Assert.StartsWith("https://accounts.example.test/account/magic?token=", mail.Link);

        var redeem = byLink
            ? await App.PostAsync("/api/login/email/redeem", new { token = mail.Token })
            : await App.PostAsync("/api/login/email/redeem", new { email, code = mail.Code });

        Assert.Equal(HttpStatusCode.OK, redeem.StatusCode);
        var access = (await TestApp.Body(redeem)).GetProperty("accessToken").GetString();
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", access)).StatusCode);
        var again = byLink
            ? await App.PostAsync("/api/login/email/redeem", new { token = mail.Token })
            : await App.PostAsync("/api/login/email/redeem", new { email, code = mail.Code });
        Assert.Equal("invalid_token", await TestApp.Code(again));
        // The other half of the same email is dead too.
        var other = byLink
            ? await App.PostAsync("/api/login/email/redeem", new { email, code = mail.Code })
            : await App.PostAsync("/api/login/email/redeem", new { token = mail.Token });
        Assert.Equal("invalid_token", await TestApp.Code(other));
    }

    [Fact]
    public async Task RequestingForAnUnknownAddressAnswersTheSameAndSendsNothing()
    {
        var known = await App.SignupVerifiedAsync(TestApp.NewEmail("magic"));
        var unknown = TestApp.NewEmail("nobody");

        var a = await App.PostAsync("/api/login/email", new { email = known });
        var b = await App.PostAsync("/api/login/email", new { email = unknown });

        Assert.Equal(a.StatusCode, b.StatusCode);
        Assert.Equal(await a.Content.ReadAsStringAsync(), await b.Content.ReadAsStringAsync());
        await App.Mail.WaitForAsync(known, 2);
        await App.EmailsSettledAsync();
        Assert.Empty(App.Mail.To(unknown));
    }

    [Fact]
    public async Task TwentyParallelRedemptionsHaveExactlyOneWinner()
    {
        var mail = await RequestAsync(await App.SignupVerifiedAsync(TestApp.NewEmail("magic")));

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => App.PostAsync("/api/login/email/redeem", new { token = mail.Token })));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
    }

    [Fact]
    public async Task ANewerRequestMakesTheOlderLinkDead()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("magic"));
        var first = await RequestAsync(email);
        var second = await RequestAsync(email);

        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/login/email/redeem", new { token = first.Token })));
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/login/email/redeem", new { token = second.Token })).StatusCode);
    }

    [Fact]
    public async Task FiveWrongCodesKillTheCode()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("magic"));
        var mail = await RequestAsync(email);
        var wrong = mail.Code == "000000" ? "111111" : "000000";
        for (var i = 0; i < 5; i++) await App.PostAsync("/api/login/email/redeem", new { email, code = wrong });

        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/login/email/redeem", new { email, code = mail.Code })));
    }

    [Fact]
    public async Task TheLinkWorksUntilItsLifetimeEndsAndNotASecondLonger()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("magic"));
        var early = await RequestAsync(email);
        App.Clock!.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/login/email/redeem", new { token = early.Token })).StatusCode);

        var late = await RequestAsync(email);
        App.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/login/email/redeem", new { token = late.Token })));
    }
}
