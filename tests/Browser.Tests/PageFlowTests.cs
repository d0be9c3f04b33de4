using System.Net;
using System.Text.RegularExpressions;
using AccountFunctions.Browser.Tests.Support;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AccountFunctions.Browser.Tests;

/// <summary>What a person does with the /account/ pages, in a real headless Chromium.</summary>
public sealed class PageFlowTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private TestApp App => fixture.App;

    /// <summary>The emailed link, pointed at this test's app (emails use Accounts__PublicBaseUrl).</summary>
    private static string Local(SentEmail mail) => new Uri(mail.Link!).PathAndQuery;

    private static async Task SignUpOnThePageAsync(Person person, string email, string firstName = "Ann", string? screenshot = null)
    {
        await person.OpenAsync("/account/signup");
        await person.Page.GetByLabel("Email address").FillAsync(email);
        await person.Page.GetByLabel("Password").FillAsync(TestApp.Password);
        await person.Page.GetByLabel("First name").FillAsync(firstName);
        if (screenshot is not null) await person.ScreenshotAsync(screenshot);
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Expect(person.Page.GetByRole(AriaRole.Heading, new() { Name = "Check your email" })).ToBeVisibleAsync();
    }

    private static async Task SignInOnThePageAsync(Person person, string identifier, string password = TestApp.Password, bool rememberMe = false)
    {
        await person.OpenAsync("/account/login");
        await person.Page.GetByLabel("Email or account number").FillAsync(identifier);
        await person.Page.GetByLabel("Password").FillAsync(password);
        if (rememberMe) await person.Page.GetByLabel("Keep me signed in").CheckAsync();
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await person.Page.WaitForURLAsync("**/account/settings");
        await person.Page.Locator("body[data-ready=true]").WaitForAsync();
    }

    [Fact]
    public async Task APersonSignsUpOpensTheEmailedLinkContinuesSignsInAndEditsTheProfile()
    {
        await using var person = await fixture.NewPersonAsync();
        var email = TestApp.NewEmail("ann");
        await SignUpOnThePageAsync(person, email, screenshot: "signup");
        await person.ScreenshotAsync("signup-done");

        var mail = (await App.Mail.WaitForAsync(email)).Single();
        Assert.StartsWith("https://accounts.example.test/account/verify?token=", mail.Link);
        await person.OpenAsync(Local(mail));
        // The token left the address bar as soon as the page read it.
        Assert.DoesNotContain("token", person.Page.Url);
        Assert.EndsWith("/account/verify", person.Page.Url);
        await person.ScreenshotAsync("verify");
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(person.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "confirmed" })).ToContainTextAsync("You can sign in now");
        await person.ScreenshotAsync("verify-done");

        await person.Page.GetByRole(AriaRole.Link, new() { Name = "Sign in", Exact = true }).Last.ClickAsync();
        await person.Page.Locator("body[data-ready=true]").WaitForAsync();
        await person.ScreenshotAsync("login");
        await SignInOnThePageAsync(person, email);
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(email);

        // The refresh token is in the __Host- cookie, which Chromium keeps on http://127.0.0.1
        // (a secure context), HttpOnly so no script sees it.
        var cookie = Assert.Single(await person.Context.CookiesAsync(), c => c.Name == "__Host-refresh");
        Assert.True(cookie.Secure);
        Assert.True(cookie.HttpOnly);
        Assert.Equal("/", cookie.Path);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal("", await person.Page.EvaluateAsync<string>("() => document.cookie"));

        await person.Page.GetByLabel("First name").FillAsync("Annabel");
        await person.Page.GetByLabel("Location").FillAsync("Lisbon");
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Save profile" }).ClickAsync();
        await Expect(person.Page.Locator("#profile [role=status]")).ToHaveTextAsync("Profile saved.");
        await person.ScreenshotAsync("settings");

        // Stored, as the API tells another client.
        var session = await App.LoginAsync(email);
        var me = await TestApp.Body(await App.GetAsync("/api/me", session.GetProperty("accessToken").GetString()));
        Assert.Equal("Annabel", me.GetProperty("firstName").GetString());
        Assert.Equal("Lisbon", me.GetProperty("profile").GetProperty("location").GetString());

        // A new tab has no access token in its sessionStorage: the refresh cookie signs it in.
        var tab = await person.NewTabAsync();
        await person.OpenAsync("/account/settings", tab);
        await Expect(tab.GetByLabel("First name")).ToHaveValueAsync("Annabel");
        Assert.Empty(person.Problems);
    }

    [Fact]
    public async Task AScannerFetchingTheEmailedLinkFirstUsesNothingAndThePersonsClickStillWorks()
    {
        await using var person = await fixture.NewPersonAsync();
        var email = TestApp.NewEmail("scanned");
        await SignUpOnThePageAsync(person, email);
        var mail = (await App.Mail.WaitForAsync(email)).Single();

        // The mail scanner: a plain GET of the link (and of what the page loads), twice.
        using var scanner = new HttpClient { BaseAddress = new Uri(App.BaseUrl) };
        for (var i = 0; i < 2; i++)
        {
            var fetched = await scanner.GetAsync(Local(mail));
            Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
            Assert.Contains("Continue", await fetched.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, (await scanner.GetAsync("/account/assets/verify.js")).StatusCode);
        }
        // A scanner that runs the page's script and waits does not press Continue either.
        await using (var headlessScanner = await fixture.NewPersonAsync())
        {
            await headlessScanner.OpenAsync(Local(mail));
            // OpenAsync waited for the script to run to its end (the body marked ready); Continue is
            // shown, and every request the page made has finished (no network for Playwright's idle span).
            await Expect(headlessScanner.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" })).ToBeVisibleAsync();
            await headlessScanner.Page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        }
        var stillUnverified = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal("email_not_verified", await TestApp.Code(stillUnverified));

        await person.OpenAsync(Local(mail));
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(person.Page.Locator("#result-text")).ToContainTextAsync("You can sign in now");
        await App.LoginAsync(email);

        // The link is now spent: opening it again shows the page, and Continue says so.
        await using var again = await fixture.NewPersonAsync();
        await again.OpenAsync(Local(mail));
        await again.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(again.Page.Locator("#continue [role=alert]")).ToContainTextAsync("invalid, already used, or expired");
        Assert.Empty(person.Problems);
    }

    [Fact]
    public async Task AForgottenPasswordIsResetThroughTheEmailedLinkAndTheNewOneSignsIn()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("forgot"));
        await using var person = await fixture.NewPersonAsync();
        await person.OpenAsync("/account/login");
        await person.Page.GetByRole(AriaRole.Link, new() { Name = "Forgot your password?" }).ClickAsync();
        await person.Page.Locator("body[data-ready=true]").WaitForAsync();
        await person.Page.GetByLabel("Email address").FillAsync(email);
        await person.ScreenshotAsync("forgot-password");
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Send the link" }).ClickAsync();
        await Expect(person.Page.GetByRole(AriaRole.Heading, new() { Name = "Check your email" })).ToBeVisibleAsync();

        var mail = (await App.Mail.WaitForAsync(email, 2)).Last();
        Assert.Contains("/account/reset-password?token=", mail.Link);
        await person.OpenAsync(Local(mail));
        Assert.EndsWith("/account/reset-password", person.Page.Url);
        const string newPassword = "a brand new passphrase for ann";
        await person.Page.GetByLabel("New password").FillAsync(newPassword);
        await person.Page.GetByLabel("The same password again").FillAsync(newPassword + "x");
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(person.Page.Locator("#reset [role=alert]")).ToContainTextAsync("not the same");
        await person.Page.GetByLabel("The same password again").FillAsync(newPassword);
        await person.ScreenshotAsync("reset-password");
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(person.Page.GetByRole(AriaRole.Heading, new() { Name = "Password changed" })).ToBeVisibleAsync();

        await SignInOnThePageAsync(person, email, newPassword);
        var old = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal("invalid_credentials", await TestApp.Code(old));
        Assert.Empty(person.Problems);
    }

    [Fact]
    public async Task AnAccountNumberSignsInAndAWrongPasswordIsShownAsAnError()
    {
        var created = await TestApp.Body(await App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password }));
        var number = created.GetProperty("accountNumber").GetString()!;
        await using var person = await fixture.NewPersonAsync();

        await person.OpenAsync("/account/login");
        await person.Page.GetByLabel("Email or account number").FillAsync(number);
        await person.Page.GetByLabel("Password").FillAsync("not the right passphrase");
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(person.Page.Locator("#login [role=alert]")).ToHaveTextAsync("The email, account number or password is wrong.");

        await SignInOnThePageAsync(person, number);
        await Expect(person.Page.Locator("#fact-number")).ToHaveTextAsync(number);
        Assert.Empty(person.Problems);
    }

    [Fact]
    public async Task SessionsAreListedAndAnotherDeviceCanBeSignedOut()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("sessions"));
        var other = await App.LoginAsync(email); // another device, through the API
        var otherAccess = other.GetProperty("accessToken").GetString();
        await using var person = await fixture.NewPersonAsync();
        await SignInOnThePageAsync(person, email, rememberMe: true);

        var rows = person.Page.Locator("#session-rows tr");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.Filter(new() { HasText = "(this device)" })).ToContainTextAsync("Chrome on Linux");
        await person.ScreenshotAsync("settings-sessions", null);
        var otherRow = rows.Filter(new() { HasNotText = "(this device)" });
        await otherRow.GetByRole(AriaRole.Button, new() { Name = "End" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);

        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", otherAccess)).StatusCode);
        // This device is still signed in, also after a reload.
        await person.Page.ReloadAsync();
        await person.Page.Locator("body[data-ready=true]").WaitForAsync();
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(email);

        // Signing out here ends this session and the cookie.
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).First.ClickAsync();
        await person.Page.WaitForURLAsync("**/account/login?notice=signed-out");
        Assert.DoesNotContain(await person.Context.CookiesAsync(), c => c.Name == "__Host-refresh");
        await person.OpenAsync("/account/settings");
        await person.Page.WaitForURLAsync("**/account/login?next=settings");
        Assert.Empty(person.Problems);
    }

    [Fact]
    public async Task AMagicLinkSignsInAfterContinueAndNotBefore()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("magic"));
        await using var person = await fixture.NewPersonAsync();
        await person.OpenAsync("/account/magic");
        await person.Page.GetByLabel("Email address").First.FillAsync(email);
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Email me a link" }).ClickAsync();
        await Expect(person.Page.Locator("#request [role=alert]")).ToContainTextAsync("on their way");
        await person.ScreenshotAsync("magic");

        var mail = (await App.Mail.WaitForAsync(email, 2)).Last();
        Assert.Contains("/account/magic?token=", mail.Link);
        await person.OpenAsync(Local(mail));
        Assert.EndsWith("/account/magic", person.Page.Url);
        Assert.DoesNotContain(await person.Context.CookiesAsync(), c => c.Name == "__Host-refresh");
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await person.Page.WaitForURLAsync("**/account/settings");
        await person.Page.Locator("body[data-ready=true]").WaitForAsync();
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(email);
        // The session that came back in the body was moved into the cookie.
        Assert.Contains(await person.Context.CookiesAsync(), c => c.Name == "__Host-refresh" && c.HttpOnly);
        Assert.Empty(person.Problems);
    }

    [Fact]
    public async Task DeletingTheAccountOnTheSettingsPageNeedsThePasswordAndFreesTheAddress()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("delete"));
        await using var person = await fixture.NewPersonAsync();
        await SignInOnThePageAsync(person, email);

        var form = person.Page.Locator("#delete");
        await form.GetByLabel("Current password").FillAsync("not my passphrase");
        await form.GetByLabel("I understand").CheckAsync();
        await form.GetByRole(AriaRole.Button, new() { Name = "Delete my account" }).ClickAsync();
        await Expect(form.Locator("[role=alert]")).ToHaveTextAsync("The current password is wrong.");

        await form.GetByLabel("Current password").FillAsync(TestApp.Password);
        await form.GetByRole(AriaRole.Button, new() { Name = "Delete my account" }).ClickAsync();
        await person.Page.WaitForURLAsync("**/account/login?notice=deleted");
        await Expect(person.Page.Locator("#notice")).ToHaveTextAsync("Your account was deleted.");
        var login = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal("invalid_credentials", await TestApp.Code(login));
        Assert.Empty(person.Problems);
    }
}
