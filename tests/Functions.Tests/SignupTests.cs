using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

public sealed class SignupTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task SignupSendsOneEmailWithALinkAndACodeBuiltFromThePublicBaseUrl()
    {
        var email = TestApp.NewEmail();
        var response = await App.PostAsync("/api/signup", new { email, password = TestApp.Password, firstName = "Ann" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"status":"verification_sent"}""", await response.Content.ReadAsStringAsync());
        var mail = Assert.Single(await App.Mail.WaitForAsync(email));
        Assert.StartsWith("https://accounts.example.test/account/verify?token=", mail.Link);
        Assert.Matches(@"^\d{6}$", mail.Code);
        Assert.Contains("Hello Ann", mail.Text);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(mail.Link!), mail.Html);
        Assert.NotNull(mail.OutboxId);
    }

    [Fact]
    public async Task SignupGivenAnAlreadyVerifiedEmailAnswersTheSameAndEmailsTheOwnerInstead()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var other = TestApp.NewEmail();

        var taken = await App.PostAsync("/api/signup", new { email = email.ToUpperInvariant(), password = "another good passphrase" });
        var fresh = await App.PostAsync("/api/signup", new { email = other, password = "another good passphrase" });

        Assert.Equal(fresh.StatusCode, taken.StatusCode);
        Assert.Equal(await fresh.Content.ReadAsStringAsync(), await taken.Content.ReadAsStringAsync());
        var mails = await App.Mail.WaitForAsync(email, 2);
        Assert.Equal("Someone tried to sign up with your email address", mails[1].Subject);
        Assert.Null(mails[1].Link);
        // The owner's password is unchanged.
        await App.LoginAsync(email);
    }

    [Theory]
    [InlineData("not-an-email", "correct horse battery staple", "email", "validation_failed")]
    [InlineData("a@example.test", "short", "password", "weak_password")]
    [InlineData("a@example.test", "password123", "password", "weak_password")]
    [InlineData("same.as.email@example.test", "same.as.email@example.test", "password", "weak_password")]
    public async Task SignupRefusesBadInputWithAProblemNamingTheField(string email, string password, string field, string code)
    {
        var response = await App.PostAsync("/api/signup", new { email, password });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await TestApp.Body(response);
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task SignupAcceptsALongUnicodePasswordAndItsNfkcEquivalentLogsIn()
    {
        var email = TestApp.NewEmail();
        // "ﬁ" (U+FB01) normalises under NFKC to "fi".
        await App.SignupVerifiedAsync(email, "ﬁve boxing wizards jump quickly ünïcødé");
        await App.LoginAsync(email, "five boxing wizards jump quickly ünïcødé");
    }

    [Fact]
    public async Task ResendSupersedesTheEarlierLinkAndCode()
    {
        var email = TestApp.NewEmail();
        var first = await App.SignupAsync(email);

        var resend = await App.PostAsync("/api/email/resend", new { email });
        Assert.Equal(HttpStatusCode.Accepted, resend.StatusCode);
        var second = (await App.Mail.WaitForAsync(email, 2))[1];

        Assert.NotEqual(first.Token, second.Token);
        var old = await App.PostAsync("/api/email/verify", new { token = first.Token });
        Assert.Equal("invalid_token", await TestApp.Code(old));
        var oldCode = await App.PostAsync("/api/email/verify", new { email, code = first.Code });
        if (first.Code != second.Code) Assert.Equal("invalid_token", await TestApp.Code(oldCode));
        var ok = await App.PostAsync("/api/email/verify", new { token = second.Token });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task ResendAnswersTheSameForUnknownAndKnownAddresses()
    {
        var known = TestApp.NewEmail();
        await App.SignupAsync(known);

        var a = await App.PostAsync("/api/email/resend", new { email = known });
        var b = await App.PostAsync("/api/email/resend", new { email = TestApp.NewEmail() });

        Assert.Equal(HttpStatusCode.Accepted, a.StatusCode);
        Assert.Equal(a.StatusCode, b.StatusCode);
        Assert.Equal(await a.Content.ReadAsStringAsync(), await b.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ResendIsLimitedPerAddressButStillAnswers202()
    {
        var email = TestApp.NewEmail();
        await App.SignupAsync(email);
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/email/resend", new { email })).StatusCode);

        await App.Mail.WaitForAsync(email, 4);
        await App.EmailsSettledAsync();
        Assert.Equal(4, App.Mail.To(email).Count); // signup + 3 resends (Security__ResendLimit)
    }
}
