using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>
/// Issue 23 (smaller findings): a domain is compared after UTS #46 mapping, so its full-width and
/// other compatibility spellings are the mailbox they deliver to, not a second account.
/// </summary>
public sealed class EmailFoldingTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    [Theory]
    [InlineData("{0}@\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45.test")]        // ｅｘａｍｐｌｅ.test
    [InlineData("{0}@\uFF25\uFF38\uFF21\uFF2D\uFF30\uFF2C\uFF25.\uFF54\uFF45\uFF53\uFF54")] // ＥＸＡＭＰＬＥ.ｔｅｓｔ
    [InlineData("{0}@example\uFF0Etest")]                                        // full-width full stop
    [InlineData("{0}@example\u3002test")]                                        // ideographic full stop
    public async Task ACompatibilitySpellingOfAVerifiedAddressEmailsTheOwnerAndMakesNoSecondAccount(string pattern)
    {
        var local = "w" + Guid.NewGuid().ToString("N")[..12];
        var owner = $"{local}@example.test";
        await App.SignupVerifiedAsync(owner);
        var other = string.Format(pattern, local);

        var signup = await App.PostAsync("/api/signup", new { email = other, password = "another passphrase entirely" });

        Assert.Equal(HttpStatusCode.Accepted, signup.StatusCode);
        var notice = (await App.Mail.WaitForAsync(owner, 2))[1];
        Assert.Equal("Someone tried to sign up with your email address", notice.Subject);
        Assert.Empty(App.Mail.To(other));
        var session = await App.LoginAsync(other);
        Assert.Equal(owner, session.GetProperty("account").GetProperty("email").GetString());
        var wrong = await App.PostAsync("/api/login", new { identifier = other, password = "another passphrase entirely" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }
}
