using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>Issue 15.6: spellings of one mailbox cannot make two accounts; odd syntax is refused.</summary>
public sealed class EmailSyntaxTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    [Theory]
    [InlineData("{0}@example.test.")]
    [InlineData("\"{0}\"@example.test")]
    [InlineData("{0}..x@example.test")]
    [InlineData("{0}@[192.0.2.1]")]
    [InlineData("{0}@example..test")]
    public async Task OtherSpellingsOfAVerifiedAddressAreRefusedNotANewAccount(string pattern)
    {
        var local = "u" + Guid.NewGuid().ToString("N")[..12];
        await App.SignupVerifiedAsync($"{local}@example.test");
        var other = string.Format(pattern, local);

        foreach (var path in new[] { "/api/signup", "/api/signup/email" })
        {
            var response = await App.PostAsync(path, new { email = other, password = TestApp.Password });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await TestApp.Body(response)).GetProperty("errors").TryGetProperty("email", out _));
        }
        await App.EmailsSettledAsync();
        Assert.Empty(App.Mail.To(other));
    }

    [Fact]
    public async Task APunycodeSpellingFindsTheSameAccount()
    {
        var local = "p" + Guid.NewGuid().ToString("N")[..12];
        await App.SignupVerifiedAsync($"{local}@b\u00fccher.test");
        var session = await App.LoginAsync($"{local}@xn--bcher-kva.test");
        Assert.Equal($"{local}@b\u00fccher.test", session.GetProperty("account").GetProperty("email").GetString());
    }
}
