using AccountFunctions.Browser.Tests.Support;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AccountFunctions.Browser.Tests;

public sealed class ApprovalBrowserFixture : BrowserFixture
{
    public string AdminEmail { get; } = TestApp.NewEmail("admin");
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Accounts:RequireAdminApproval"] = "true",
        ["Accounts:BootstrapAdmins"] = AdminEmail,
    };
}

/// <summary>Admin approval mode: the signup comment reaches the admin's manage page, where they decide.</summary>
public sealed class ManagePageTests(ApprovalBrowserFixture fixture) : IClassFixture<ApprovalBrowserFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task AnAdminApprovesAPendingAccountOnTheManagePageAndThePersonCanSignIn()
    {
        if (App.Mail.To(fixture.AdminEmail).Count == 0) await App.SignupVerifiedAsync(fixture.AdminEmail);
        var email = TestApp.NewEmail("pat");

        // Pat signs up on the page with a note for the admin, and confirms through the emailed link.
        await using var pat = await fixture.NewPersonAsync();
        await pat.OpenAsync("/account/signup");
        await pat.Page.GetByLabel("Email address").FillAsync(email);
        await pat.Page.GetByLabel("Password").FillAsync(TestApp.Password);
        await pat.Page.GetByLabel("First name").FillAsync("Pat");
        await pat.Page.GetByLabel("Last name").FillAsync("Lee");
        await pat.Page.GetByLabel("A note for the administrator").FillAsync("I'm the new <b>accountant</b>");
        await pat.Page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        var mail = (await App.Mail.WaitForAsync(email)).Single();
        await pat.OpenAsync(new Uri(mail.Link!).PathAndQuery);
        await pat.Page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(pat.Page.GetByRole(AriaRole.Heading, new() { Name = "Email confirmed: waiting for approval" })).ToBeVisibleAsync();

        // The admin follows the link in their notice, signs in, and lands on the manage page.
        var notice = await WaitForAsync(fixture.AdminEmail, m => m.Text.Contains(email));
        Assert.Equal("/account/manage", new Uri(notice.Link!).PathAndQuery);
        await using var admin = await fixture.NewPersonAsync();
        await admin.Page.GotoAsync("/account/manage");
        await admin.Page.WaitForURLAsync("**/account/login?next=manage");
        await admin.Page.Locator("body[data-ready=true]").WaitForAsync();
        await admin.Page.GetByLabel("Email or account number").FillAsync(fixture.AdminEmail);
        await admin.Page.GetByLabel("Password").FillAsync(TestApp.Password);
        await admin.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await admin.Page.WaitForURLAsync("**/account/manage");
        await admin.Page.Locator("body[data-ready=true]").WaitForAsync();
        // The admin API's function key: a wrong one is refused by the host and asked for again.
        await EnterKeyAsync(admin, "not-the-key");
        await Expect(admin.Page.Locator("#key-form [role=alert]")).ToHaveTextAsync("That key was refused. Check it and try again.");
        await EnterKeyAsync(admin, App.FunctionKey);

        var row = admin.Page.Locator("#pending-rows tr").Filter(new() { HasText = email });
        await Expect(row).ToContainTextAsync("Pat Lee");
        // The note is shown as text, never as markup.
        await Expect(row.Locator(".comment")).ToHaveTextAsync("I'm the new <b>accountant</b>");
        Assert.Equal(0, await row.Locator(".comment b").CountAsync());
        await admin.ScreenshotAsync("manage");
        await row.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        await Expect(admin.Page.Locator("#notice")).ToContainTextAsync("Pat Lee was approved");

        var approved = await WaitForAsync(email, m => m.Subject == "Your account has been approved");
        Assert.NotNull(approved);
        await pat.OpenAsync("/account/login");
        await pat.Page.GetByLabel("Email or account number").FillAsync(email);
        await pat.Page.GetByLabel("Password").FillAsync(TestApp.Password);
        await pat.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await pat.Page.WaitForURLAsync("**/account/settings");
        await Expect(pat.Page.Locator("#fact-status")).ToHaveTextAsync("active");
        // Pat is no admin: the manage page refuses, and says so.
        await pat.OpenAsync("/account/manage");
        await Expect(pat.Page.Locator("#notice")).ToHaveTextAsync("Only administrators can manage accounts.");
        Assert.Empty(admin.Problems);
        Assert.Empty(pat.Problems);
    }

    [Fact]
    public async Task AnAdminUnlocksALockedAccountOnTheManagePage()
    {
        if (App.Mail.To(fixture.AdminEmail).Count == 0) await App.SignupVerifiedAsync(fixture.AdminEmail);
        var adminSession = await App.LoginAsync(fixture.AdminEmail);
        var adminToken = adminSession.GetProperty("accessToken").GetString();
        var email = TestApp.NewEmail("locked");
        await App.SignupVerifiedAsync(email);
        var pending = await TestApp.Body(await App.GetAsync($"/api/manage/users?status=pending_approval&q={Uri.EscapeDataString(email)}", adminToken));
        var id = pending.GetProperty("items")[0].GetProperty("id").GetString();
        await App.PostAsync($"/api/manage/users/{id}/approve", new { }, adminToken);
        await App.PostAsync($"/api/manage/users/{id}/lock", new { reason = "test" }, adminToken);

        await using var admin = await fixture.NewPersonAsync();
        // The link an operator hands an admin carries the function key in its fragment; the page
        // keeps it in the tab while the admin signs in.
        await admin.Page.GotoAsync("/account/manage#key=" + App.FunctionKey);
        await admin.Page.WaitForURLAsync("**/account/login?next=manage");
        await admin.Page.Locator("body[data-ready=true]").WaitForAsync();
        await admin.Page.GetByLabel("Email or account number").FillAsync(fixture.AdminEmail);
        await admin.Page.GetByLabel("Password").FillAsync(TestApp.Password);
        await admin.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await admin.Page.WaitForURLAsync("**/account/manage");
        await admin.Page.Locator("body[data-ready=true]").WaitForAsync();
        Assert.DoesNotContain("key=", admin.Page.Url); // taken from the fragment, then out of the address bar
        await Expect(admin.Page.Locator("#key-form")).ToBeHiddenAsync();
        var row = admin.Page.Locator("#locked-rows tr").Filter(new() { HasText = email });
        await row.GetByRole(AriaRole.Button, new() { Name = "Unlock" }).ClickAsync();
        await Expect(row).ToHaveCountAsync(0);

        await App.LoginAsync(email);
        Assert.Empty(admin.Problems);
    }

    private static async Task EnterKeyAsync(Person admin, string key)
    {
        await admin.Page.GetByLabel("Function key").FillAsync(key);
        await admin.Page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
    }

    private async Task<SentEmail> WaitForAsync(string to, Func<SentEmail, bool> match)
    {
        for (var i = 0; i < 200; i++)
        {
            if (App.Mail.To(to).FirstOrDefault(match) is { } found) return found;
            await Task.Delay(50);
        }
        throw new TimeoutException($"No matching email to {to}.");
    }
}
