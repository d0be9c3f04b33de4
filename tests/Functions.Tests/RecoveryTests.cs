using System.Net;
using System.Net.Http.Json;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

public sealed class RecoveryTests(FakeClockFixture fixture) : IClassFixture<FakeClockFixture>
{
    private TestApp App => fixture.App;
    private const string NewPassword = "a brand new passphrase for this";

    // Each call from its own address, so the per-IP limit never couples tests.
    private async Task<HttpResponseMessage> ForgotAsync(string email, string? ip = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/password/forgot") { Content = JsonContent.Create(new { email }) };
        request.Headers.Add("X-Forwarded-For", ip ?? NewIp());
        return await App.Http.SendAsync(request);
    }

    private static string NewIp() => $"10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}";

    private IReadOnlyList<SentEmail> ResetMails(string email) => App.Mail.To(email).Where(m => m.Subject == "Reset your password").ToList();

    // Counts reset emails only: a password-changed notice may arrive in between.
    private async Task<SentEmail> RequestResetAsync(string email)
    {
        var before = ResetMails(email).Count;
        var response = await ForgotAsync(email);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (ResetMails(email).Count <= before && DateTime.UtcNow < deadline) await Task.Delay(50);
        return ResetMails(email).Count > before ? ResetMails(email)[before] : throw new TimeoutException($"No reset email reached {email}.");
    }

    private Task<HttpResponseMessage> ResetAsync(string? token, string newPassword = NewPassword) =>
        App.PostAsync("/api/password/reset", new { token, newPassword });

    private async Task<SentEmail> WaitForNoticeAsync(string email)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (App.Mail.To(email).FirstOrDefault(m => m.Subject == "Your password was changed") is { } notice) return notice;
            await Task.Delay(50);
        }
        throw new TimeoutException($"No password-changed notice reached {email}.");
    }

    [Fact]
    public async Task ForgotAnswersTheSameForKnownAndUnknownAddressesAndEmailsOnlyTheOwner()
    {
        var known = await App.SignupVerifiedAsync(TestApp.NewEmail("reset"));
        var unknown = TestApp.NewEmail("nobody");

        var a = await ForgotAsync(known);
        var b = await ForgotAsync(unknown);

        Assert.Equal(HttpStatusCode.Accepted, a.StatusCode);
        Assert.Equal(a.StatusCode, b.StatusCode);
        Assert.Equal("""{"status":"accepted"}""", await a.Content.ReadAsStringAsync());
        Assert.Equal(await a.Content.ReadAsStringAsync(), await b.Content.ReadAsStringAsync());
        var mails = await App.Mail.WaitForAsync(known, 2); // verification, then the reset link
        Assert.Equal("Reset your password", mails[1].Subject);
        Assert.StartsWith("https://accounts.example.test/account/reset-password?token=", mails[1].Link);
        Assert.Null(mails[1].Code);
        await App.EmailsSettledAsync();
        Assert.Empty(App.Mail.To(unknown));
    }

    [Fact]
    public async Task ForgotRefusesAnInvalidAddress()
    {
        var response = await ForgotAsync("not an address");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_failed", await TestApp.Code(response));
    }

    [Fact]
    public async Task ResetTokenCannotBeUsedTwice()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("reset"));
        var mail = await RequestResetAsync(email);

        Assert.Equal(HttpStatusCode.NoContent, (await ResetAsync(mail.Token)).StatusCode);
        var again = await ResetAsync(mail.Token, "yet another passphrase here");

        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(again));
        await App.LoginAsync(email, NewPassword);
    }

    [Fact]
    public async Task TwentyParallelResetsWithOneTokenHaveExactlyOneWinner()
    {
        var mail = await RequestResetAsync(await App.SignupVerifiedAsync(TestApp.NewEmail("reset")));

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => ResetAsync(mail.Token, $"parallel passphrase number {i}")));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.NoContent));
        foreach (var r in responses.Where(r => r.StatusCode != HttpStatusCode.NoContent))
            Assert.Equal("invalid_token", await TestApp.Code(r));
    }

    [Fact]
    public async Task TheResetLinkWorksUntilItsLifetimeEndsAndNotASecondLonger()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("reset"));
        var early = await RequestResetAsync(email);
        App.Clock!.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.NoContent, (await ResetAsync(early.Token)).StatusCode);

        var late = await RequestResetAsync(email);
        App.Clock.Advance(TimeSpan.FromMinutes(30) + TimeSpan.FromSeconds(1));
        Assert.Equal("invalid_token", await TestApp.Code(await ResetAsync(late.Token, "another passphrase entirely")));
    }

    [Fact]
    public async Task ANewerForgotRequestMakesTheOlderLinkDead()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("reset"));
        var first = await RequestResetAsync(email);
        var second = await RequestResetAsync(email);

        Assert.Equal("invalid_token", await TestApp.Code(await ResetAsync(first.Token)));
        Assert.Equal(HttpStatusCode.NoContent, (await ResetAsync(second.Token)).StatusCode);
    }

    [Fact]
    public async Task ResetEndsEverySessionSendsTheNoticeAndOnlyTheNewPasswordLogsIn()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("reset"));
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString();
        var mail = await RequestResetAsync(email);

        Assert.Equal(HttpStatusCode.NoContent, (await ResetAsync(mail.Token)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", access)).StatusCode);
        await WaitForNoticeAsync(email);
        var old = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal("invalid_credentials", await TestApp.Code(old));
        var fresh = (await App.LoginAsync(email, NewPassword)).GetProperty("accessToken").GetString();
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", fresh)).StatusCode);
    }

    [Fact]
    public async Task AWeakNewPasswordIsRefusedAndDoesNotBurnTheLink()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("reset"));
        var mail = await RequestResetAsync(email);

        var tooShort = await ResetAsync(mail.Token, "short");
        var isEmail = await ResetAsync(mail.Token, email);

        Assert.Equal("weak_password", await TestApp.Code(tooShort));
        Assert.True((await TestApp.Body(tooShort)).GetProperty("errors").TryGetProperty("newPassword", out _));
        Assert.Equal("weak_password", await TestApp.Code(isEmail));
        Assert.Equal(HttpStatusCode.NoContent, (await ResetAsync(mail.Token)).StatusCode);
    }

    [Fact]
    public async Task MalformedOrUnknownResetTokensAreInvalidToken()
    {
        foreach (var token in new[] { "nope", new string('A', 22) + "." + new string('B', 43), "" })
            Assert.Equal("invalid_token", await TestApp.Code(await ResetAsync(token)));
    }

    [Fact]
    public async Task ChangePasswordWithAWrongCurrentPasswordIsRefused()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("change"));
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString();

        var response = await App.PostAsync("/api/me/password", new { currentPassword = "not the right passphrase", newPassword = NewPassword }, access);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("wrong_password", await TestApp.Code(response));
        await App.LoginAsync(email); // unchanged
    }

    [Fact]
    public async Task ChangePasswordEndsTheOtherSessionsKeepsThisOneAndSendsTheNotice()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("change"));
        var other = (await App.LoginAsync(email)).GetProperty("accessToken").GetString();
        var current = (await App.LoginAsync(email)).GetProperty("accessToken").GetString();

        var response = await App.PostAsync("/api/me/password", new { currentPassword = TestApp.Password, newPassword = NewPassword }, current);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", current)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", other)).StatusCode);
        await WaitForNoticeAsync(email);
        await App.LoginAsync(email, NewPassword);
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
    }

    [Fact]
    public async Task ChangePasswordNeedsASignedInCallerAndAStrongNewPassword()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("change"));
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString();

        var anonymous = await App.PostAsync("/api/me/password", new { currentPassword = TestApp.Password, newPassword = NewPassword });
        var weak = await App.PostAsync("/api/me/password", new { currentPassword = TestApp.Password, newPassword = "password" }, access);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("weak_password", await TestApp.Code(weak));
    }

    [Fact]
    public async Task TwentyForgotRequestsFromOneAddressThenTooManyRequestsWithRetryAfter()
    {
        var ip = NewIp();
        for (var i = 0; i < 20; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await ForgotAsync(TestApp.NewEmail("flood"), $"203.0.113.9, {ip}")).StatusCode);

        var limited = await ForgotAsync(TestApp.NewEmail("flood"), ip);

        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.Equal("too_many_requests", await TestApp.Code(limited));
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single()) > 0);
        // Another address is not affected.
        Assert.Equal(HttpStatusCode.Accepted, (await ForgotAsync(TestApp.NewEmail("flood"))).StatusCode);
    }

    [Fact]
    public async Task ThePerAddressLimitIsSilent()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("reset"));
        for (var i = 0; i < 3; i++) await RequestResetAsync(email);

        var fourth = await ForgotAsync(email);

        Assert.Equal(HttpStatusCode.Accepted, fourth.StatusCode);
        await App.EmailsSettledAsync();
        Assert.Equal(4, App.Mail.To(email).Count); // verification + three reset links
    }
}
