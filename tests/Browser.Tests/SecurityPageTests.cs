using System.Net;
using AccountFunctions.Browser.Tests.Support;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Playwright;
using OtpNet;
using static Microsoft.Playwright.Assertions;

namespace AccountFunctions.Browser.Tests;

/// <summary>The app on a fake clock: the tests compute TOTP codes at it and move it 30 s for a fresh step.</summary>
public sealed class FakeClockBrowserFixture : BrowserFixture
{
    protected override bool FakeClock => true;
}

/// <summary>
/// The settings page's 2FA and email-change parts, the 2FA step of the login and magic pages, and the
/// verify and revert-email links of an email change, in headless Chromium.
/// </summary>
public sealed class SecurityPageTests(FakeClockBrowserFixture fixture) : IClassFixture<FakeClockBrowserFixture>
{
    private TestApp App => fixture.App;
    private const string ConfirmSubject = "Confirm your new email address";
    private const string NoticeSubject = "Your email address is being changed";
    private const string RevertedSubject = "Your email address was restored";

    private static string Local(SentEmail mail) => new Uri(mail.Link!).PathAndQuery;

    private string CodeNow(byte[] secret) => Authenticator.CodeNow(App, secret);
    private string NextCode(byte[] secret) => Authenticator.NextCode(App, secret);
    private string WrongCode(byte[] secret) => Authenticator.WrongCode(App, secret);

    private static async Task SignInOnThePageAsync(Person person, string identifier, string password = TestApp.Password)
    {
        await person.OpenAsync("/account/login");
        await person.Page.GetByLabel("Email or account number").FillAsync(identifier);
        await person.Page.GetByLabel("Password").FillAsync(password);
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    private static async Task AtSettingsAsync(Person person, IPage? page = null)
    {
        page ??= person.Page;
        await page.WaitForURLAsync("**/account/settings");
        await page.Locator("body[data-ready=true]").WaitForAsync();
    }

    private static async Task SignOutAsync(Person person)
    {
        await person.Page.Locator("#sign-out").ClickAsync();
        await person.Page.WaitForURLAsync("**/account/login?notice=signed-out");
    }

    private async Task<SentEmail> MailAsync(string to, string subject)
    {
        for (var i = 0; i < 400; i++)
        {
            if (App.Mail.To(to).FirstOrDefault(m => m.Subject == subject) is { } found) return found;
            await Task.Delay(50);
        }
        throw new TimeoutException($"No email \"{subject}\" reached {to}.");
    }

    /// <summary>A mail scanner or link preview: a plain GET of the link, which must use nothing up.</summary>
    private async Task ScannerGetAsync(SentEmail mail)
    {
        using var scanner = new HttpClient { BaseAddress = new Uri(App.BaseUrl) };
        var fetched = await scanner.GetAsync(Local(mail));
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Contains("Continue", await fetched.Content.ReadAsStringAsync());
    }

    /// <summary>The refresh cookie is there (HttpOnly) and its token is nowhere a script can read.</summary>
    private static async Task AssertRefreshTokenOnlyInTheCookieAsync(Person person)
    {
        var cookie = Assert.Single(await person.Context.CookiesAsync(), c => c.Name == "__Host-refresh");
        Assert.True(cookie.HttpOnly);
        Assert.True(cookie.Secure);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.True(cookie.Value.Length >= 20);
        var storage = await person.Page.EvaluateAsync<string>(
            "() => JSON.stringify({ session: { ...sessionStorage }, local: { ...localStorage }, cookie: document.cookie })");
        Assert.DoesNotContain(cookie.Value, storage);
        Assert.DoesNotContain("refreshToken", storage);
        Assert.Contains("account.access", storage); // the access token is kept, so the check above looked at the right place
    }

    private async Task<byte[]> EnableMfaThroughTheApiAsync(string email)
    {
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString()!;
        var setup = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
        var secret = Base32Encoding.ToBytes(setup.GetProperty("secret").GetString()!);
        var confirm = await App.PostAsync("/api/me/mfa/totp/confirm", new { code = CodeNow(secret) }, access);
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        return secret;
    }

    [Fact]
    public async Task TwoStepVerificationIsSetUpInSettingsThenSignsInWithACodeOrARecoveryCodeAndIsTurnedOff()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("mfa"));
        await using var person = await fixture.NewPersonAsync();
        await SignInOnThePageAsync(person, email);
        await AtSettingsAsync(person);
        var section = person.Page.Locator("#mfa");

        // Setup: a QR code of the otpauth URI and the key as text.
        await section.GetByRole(AriaRole.Button, new() { Name = "Set up two-step verification" }).ClickAsync();
        await Expect(person.Page.Locator("#mfa-setup")).ToBeVisibleAsync();
        var key = (await person.Page.Locator("#mfa-secret").TextContentAsync())!.Trim();
        Assert.Matches("^[A-Z2-7]{16,}=*$", key);
        var uri = await person.Page.Locator("#mfa-qr").GetAttributeAsync("data-uri");
        Assert.StartsWith("otpauth://totp/", uri);
        Assert.Contains("secret=" + key, uri);
        var dark = await person.Page.EvaluateAsync<int>("""
            () => {
              const c = document.querySelector('#mfa-qr');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++;
              return n;
            }
            """);
        Assert.True(dark > 1000, $"The QR canvas has {dark} dark pixels: nothing was drawn.");
        var secret = Base32Encoding.ToBytes(key);

        // A wrong code is refused and shown; the right one turns 2FA on and shows ten recovery codes once.
        var codeField = person.Page.GetByLabel("The 6-digit code the app shows");
        await codeField.FillAsync(CodeNow(secret));
        await person.ScreenshotAsync("settings-2fa-setup");
        await codeField.FillAsync(WrongCode(secret));
        await section.GetByRole(AriaRole.Button, new() { Name = "Turn on" }).ClickAsync();
        await Expect(person.Page.Locator("#mfa-setup [role=alert]")).ToHaveTextAsync("The code is wrong, expired or was already used.");
        await codeField.FillAsync(CodeNow(secret));
        await section.GetByRole(AriaRole.Button, new() { Name = "Turn on" }).ClickAsync();
        var codeItems = person.Page.Locator("#mfa-code-list li");
        await Expect(codeItems).ToHaveCountAsync(10);
        var recoveryCodes = (await codeItems.AllTextContentsAsync()).Select(c => c.Trim()).ToList();
        Assert.All(recoveryCodes, c => Assert.Matches("^[a-z0-9]{4}(-[a-z0-9]{4}){3}$", c));
        Assert.Equal(10, recoveryCodes.Distinct().Count());
        await person.ScreenshotAsync("settings-2fa-codes");
        var apiLogin = await TestApp.Body(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password }));
        Assert.True(apiLogin.GetProperty("mfaRequired").GetBoolean());

        // Sign out; the password alone now leads to the 2FA step, and a code from the app finishes it.
        await SignOutAsync(person);
        await SignInOnThePageAsync(person, email);
        var mfaForm = person.Page.Locator("#mfa");
        await Expect(mfaForm.GetByRole(AriaRole.Heading, new() { Name = "Two-step verification" })).ToBeVisibleAsync();
        await Expect(person.Page.Locator("#login")).ToBeHiddenAsync();
        Assert.EndsWith("/account/login", person.Page.Url);
        var loginCode = person.Page.GetByLabel("Code", new() { Exact = true });
        var code = NextCode(secret);
        await loginCode.FillAsync(code);
        await person.ScreenshotAsync("login-2fa");
        await loginCode.FillAsync(WrongCode(secret));
        await mfaForm.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await Expect(mfaForm.Locator("[role=alert]")).ToHaveTextAsync("The code is wrong, expired or was already used.");
        await loginCode.FillAsync(code);
        await mfaForm.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await AtSettingsAsync(person);
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(email);
        await Expect(person.Page.Locator("#mfa-on")).ToBeVisibleAsync();
        await Expect(person.Page.Locator("#mfa-off")).ToBeHiddenAsync();
        // The 2FA sign-in honoured useCookie: the refresh token is only in the HttpOnly cookie.
        await AssertRefreshTokenOnlyInTheCookieAsync(person);

        // Again, with a recovery code instead; that code then works no more.
        await SignOutAsync(person);
        await SignInOnThePageAsync(person, email);
        await mfaForm.GetByRole(AriaRole.Button, new() { Name = "Use a recovery code instead" }).ClickAsync();
        await person.Page.GetByLabel("Recovery code").FillAsync(recoveryCodes[3].ToUpperInvariant());
        await mfaForm.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await AtSettingsAsync(person);
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(email);
        await AssertRefreshTokenOnlyInTheCookieAsync(person);
        var again = await App.PostAsync("/api/login/mfa", new { mfaToken = apiLogin.GetProperty("mfaToken").GetString(), recoveryCode = recoveryCodes[3] });
        Assert.Equal("invalid_code", await TestApp.Code(again));

        // Turning it off needs the password.
        var off = person.Page.Locator("#mfa-on");
        await off.GetByLabel("Current password").FillAsync("not my passphrase");
        await off.GetByRole(AriaRole.Button, new() { Name = "Turn off two-step verification" }).ClickAsync();
        await Expect(off.Locator("[role=alert]")).ToHaveTextAsync("The current password is wrong.");
        await off.GetByLabel("Current password").FillAsync(TestApp.Password);
        await off.GetByRole(AriaRole.Button, new() { Name = "Turn off two-step verification" }).ClickAsync();
        await Expect(person.Page.Locator("#mfa-off")).ToBeVisibleAsync();
        await Expect(off).ToBeHiddenAsync();
        var plain = await App.LoginAsync(email);
        Assert.False(plain.TryGetProperty("mfaRequired", out _));
        Assert.False(plain.GetProperty("account").GetProperty("mfaEnabled").GetBoolean());
        Assert.Empty(person.Problems);
    }

    [Fact]
    public async Task AMagicLinkForAnAccountWithTwoStepVerificationAsksForTheCodeAfterContinue()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("magic2fa"));
        var secret = await EnableMfaThroughTheApiAsync(email);
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email })).StatusCode);
        var mail = (await App.Mail.WaitForAsync(email, 2)).Last();
        Assert.Contains("/account/magic?token=", mail.Link);

        await using var person = await fixture.NewPersonAsync();
        await person.OpenAsync(Local(mail));
        var mfaForm = person.Page.Locator("#mfa");
        await Expect(mfaForm).ToBeHiddenAsync();
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(mfaForm.GetByRole(AriaRole.Heading, new() { Name = "Two-step verification" })).ToBeVisibleAsync();
        await Expect(person.Page.Locator("#continue")).ToBeHiddenAsync();
        Assert.EndsWith("/account/magic", person.Page.Url);
        Assert.DoesNotContain(await person.Context.CookiesAsync(), c => c.Name == "__Host-refresh");
        await person.ScreenshotAsync("magic-2fa");

        await person.Page.GetByLabel("Code", new() { Exact = true }).FillAsync(NextCode(secret));
        await mfaForm.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await AtSettingsAsync(person);
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(email);
        await Expect(person.Page.Locator("#mfa-on")).ToBeVisibleAsync();
        // The session the 2FA step returned in its body was moved into the cookie.
        await AssertRefreshTokenOnlyInTheCookieAsync(person);
        Assert.Empty(person.Problems);
    }

    [Fact]
    public async Task AnEmailChangeInSettingsIsPendingUntilTheNewAddressConfirmsItThenSignsInWithIt()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("change"));
        var newEmail = TestApp.NewEmail("moved");
        await using var person = await fixture.NewPersonAsync();
        await SignInOnThePageAsync(person, email);
        await AtSettingsAsync(person);

        var form = person.Page.Locator("#email");
        await form.GetByLabel("New email address").FillAsync(newEmail);
        await form.GetByLabel("Current password").FillAsync("not my passphrase");
        await form.GetByRole(AriaRole.Button, new() { Name = "Change email" }).ClickAsync();
        await Expect(form.Locator("[role=alert]")).ToHaveTextAsync("The current password is wrong.");
        await form.GetByLabel("Current password").FillAsync(TestApp.Password);
        await form.GetByRole(AriaRole.Button, new() { Name = "Change email" }).ClickAsync();
        await Expect(form.Locator("[role=status]")).ToContainTextAsync($"We emailed a confirmation link to {newEmail}");
        await Expect(person.Page.Locator("#pending-email")).ToHaveTextAsync($"Waiting for you to confirm {newEmail}: open the link we emailed there.");
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(email);
        await person.ScreenshotAsync("settings-email-pending");

        var confirm = await MailAsync(newEmail, ConfirmSubject);
        Assert.Contains("/account/verify?token=", confirm.Link);
        await MailAsync(email, NoticeSubject);

        // The scanner's GET changes nothing: sign-in is still on the old address.
        await ScannerGetAsync(confirm);
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = newEmail, password = TestApp.Password })));

        // The person opens the link in a new tab of the same browser and presses Continue.
        var tab = await person.NewTabAsync();
        await person.OpenAsync(Local(confirm), tab);
        Assert.EndsWith("/account/verify", tab.Url);
        await tab.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(tab.Locator("#result-text")).ToHaveTextAsync("Your email address is confirmed. You can sign in now.");

        // The settings tab shows the new address once reloaded, with no pending notice.
        await person.Page.ReloadAsync();
        await AtSettingsAsync(person);
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(newEmail);
        await Expect(person.Page.Locator("#pending-email")).ToBeHiddenAsync();

        // Sign-in moved to the new address.
        await using var elsewhere = await fixture.NewPersonAsync();
        await SignInOnThePageAsync(elsewhere, newEmail);
        await AtSettingsAsync(elsewhere);
        await Expect(elsewhere.Page.Locator("#fact-email")).ToHaveTextAsync(newEmail);
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
        Assert.Empty(person.Problems);
        Assert.Empty(elsewhere.Problems);
    }

    [Fact]
    public async Task TheRevertLinkRestoresTheOldAddressEndsEverySessionAndPointsToAPasswordReset()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("revert"));
        var newEmail = TestApp.NewEmail("intruder");
        await using var person = await fixture.NewPersonAsync();
        await SignInOnThePageAsync(person, email);
        await AtSettingsAsync(person);
        var form = person.Page.Locator("#email");
        await form.GetByLabel("New email address").FillAsync(newEmail);
        await form.GetByLabel("Current password").FillAsync(TestApp.Password);
        await form.GetByRole(AriaRole.Button, new() { Name = "Change email" }).ClickAsync();
        await Expect(person.Page.Locator("#pending-email")).ToContainTextAsync(newEmail);
        // The change is even confirmed: the revert still gives the old address back.
        var confirm = await MailAsync(newEmail, ConfirmSubject);
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = confirm.Token })).StatusCode);

        var notice = await MailAsync(email, NoticeSubject);
        Assert.Contains("/account/revert-email?token=", notice.Link);
        await ScannerGetAsync(notice);
        Assert.Equal("ok", await LoginCodeAsync(newEmail)); // the scanner's GET undid nothing

        await using var owner = await fixture.NewPersonAsync();
        await owner.OpenAsync(Local(notice));
        Assert.EndsWith("/account/revert-email", owner.Page.Url);
        await owner.ScreenshotAsync("revert-email");
        await owner.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        var done = owner.Page.Locator("#done");
        await Expect(done.GetByRole(AriaRole.Heading, new() { Name = "Your email address is restored" })).ToBeVisibleAsync();
        Assert.Equal("/account/forgot-password", await done.GetByRole(AriaRole.Link, new() { Name = "Reset my password" }).GetAttributeAsync("href"));

        // Every session ended: the settings tab goes to the login page on its next API call.
        await person.Page.Locator("#profile").GetByLabel("First name").FillAsync("Changed");
        await person.Page.GetByRole(AriaRole.Button, new() { Name = "Save profile" }).ClickAsync();
        await person.Page.WaitForURLAsync("**/account/login?next=settings&notice=session-ended");
        await Expect(person.Page.Locator("#notice")).ToHaveTextAsync("Your session has ended. Please sign in again.");
        Assert.DoesNotContain(await person.Context.CookiesAsync(), c => c.Name == "__Host-refresh");

        // The old address is the account's again, through the reset link it was sent; the new one is not.
        Assert.Equal("invalid_credentials", await LoginCodeAsync(newEmail));
        Assert.Equal("invalid_credentials", await LoginCodeAsync(email)); // the password was cleared
        var reverted = await MailAsync(email, RevertedSubject);
        const string newPassword = "a brand new passphrase for the owner";
        Assert.Equal(HttpStatusCode.NoContent, (await App.PostAsync("/api/password/reset", new { token = reverted.Token, newPassword })).StatusCode);
        await SignInOnThePageAsync(person, email, newPassword);
        await person.Page.WaitForURLAsync("**/account/settings");
        await person.Page.Locator("body[data-ready=true]").WaitForAsync();
        await Expect(person.Page.Locator("#fact-email")).ToHaveTextAsync(email);
        Assert.Empty(person.Problems);
        Assert.Empty(owner.Problems);
    }

    private async Task<string?> LoginCodeAsync(string identifier, string password = TestApp.Password)
    {
        var response = await App.PostAsync("/api/login", new { identifier, password });
        return response.StatusCode == HttpStatusCode.OK ? "ok" : await TestApp.Code(response);
    }
}
