using System.Net;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AccountFunctions.Functions.Tests;

public sealed class ApprovalFixture : AppFixture
{
    public string AdminEmail { get; } = TestApp.NewEmail("admin");
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Accounts:RequireAdminApproval"] = "true",
        ["Accounts:BootstrapAdmins"] = $"someone-else@example.test, {AdminEmail.ToUpperInvariant()}",
    };
}

/// <summary>Admin approval mode, bootstrap admins, account numbers and passwordless signup.</summary>
public sealed class ApprovalModeTests(ApprovalFixture fixture) : IClassFixture<ApprovalFixture>
{
    private TestApp App => fixture.App;

    private async Task EnsureAdminAsync()
    {
        if (App.Mail.To(fixture.AdminEmail).Count == 0) await App.SignupVerifiedAsync(fixture.AdminEmail);
    }

    [Fact]
    public async Task ABootstrapAdminIsActiveAndAdminOnVerificationEvenWithApprovalOn()
    {
        await EnsureAdminAsync();
        var session = await App.LoginAsync(fixture.AdminEmail);
        Assert.Equal("admin", session.GetProperty("account").GetProperty("role").GetString());
        Assert.Equal("active", session.GetProperty("account").GetProperty("status").GetString());
    }

    [Fact]
    public async Task AfterVerificationTheAccountWaitsForApprovalAndEveryAdminGetsItsDetailsAndComment()
    {
        await EnsureAdminAsync();
        var email = TestApp.NewEmail("pending");
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/signup",
            new { email, password = TestApp.Password, firstName = "Pat", lastName = "Lee", comment = "I'm the new <b>accountant</b>" })).StatusCode);
        var mail = (await App.Mail.WaitForAsync(email)).Single();

        var verified = await App.PostAsync("/api/email/verify", new { token = mail.Token });

        Assert.Equal("pending_approval", (await TestApp.Body(verified)).GetProperty("status").GetString());
        var notice = (await WaitForAsync(fixture.AdminEmail, m => m.Text.Contains(email))).Single();
        Assert.Equal("A new account is waiting for approval", notice.Subject);
        Assert.Contains("Pat Lee", notice.Text);
        Assert.Contains("I'm the new <b>accountant</b>", notice.Text);
        Assert.Contains("I&#39;m the new &lt;b&gt;accountant&lt;/b&gt;", notice.Html);
        Assert.Contains("https://accounts.example.test/account/manage", notice.Text);
        var login = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal(HttpStatusCode.Forbidden, login.StatusCode);
        Assert.Equal("approval_pending", await TestApp.Code(login));
        var wrong = await App.PostAsync("/api/login", new { identifier = email, password = "not the right passphrase" });
        Assert.Equal("invalid_credentials", await TestApp.Code(wrong));
    }

    [Fact]
    public async Task AnAnonymousAccountWaitsForApprovalTooAndGetsNoSession()
    {
        var response = await App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await TestApp.Body(response);
        Assert.Equal("pending_approval", body.GetProperty("status").GetString());
        Assert.False(body.TryGetProperty("session", out _));
        var login = await App.PostAsync("/api/login", new { identifier = body.GetProperty("accountNumber").GetString(), password = TestApp.Password });
        Assert.Equal("approval_pending", await TestApp.Code(login));
    }

    private async Task<IReadOnlyList<SentEmail>> WaitForAsync(string to, Func<SentEmail, bool> match)
    {
        for (var i = 0; i < 200; i++)
        {
            var found = App.Mail.To(to).Where(match).ToList();
            if (found.Count > 0) return found;
            await Task.Delay(50);
        }
        throw new TimeoutException($"No matching email to {to}.");
    }
}

public sealed class AccountNumberAndPasswordlessTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task AnonymousSignupReturnsASixteenDigitNumberAndASessionAndTheNumberLogsIn()
    {
        var response = await App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await TestApp.Body(response);
        var number = body.GetProperty("accountNumber").GetString()!;
        Assert.Matches("^[1-9][0-9]{15}$", number);
        var me = await App.GetAsync("/api/me", body.GetProperty("session").GetProperty("accessToken").GetString());
        var account = await TestApp.Body(me);
        Assert.Equal(number, account.GetProperty("accountNumber").GetString());
        Assert.Equal(JsonValueKind.Null, account.GetProperty("email").ValueKind);
        Assert.Equal("active", account.GetProperty("status").GetString());

        var spaced = string.Join(' ', Enumerable.Range(0, 4).Select(i => number.Substring(i * 4, 4)));
        await App.LoginAsync(spaced);
        var wrong = await App.PostAsync("/api/login", new { identifier = number, password = "not the right passphrase" });
        var unknown = await App.PostAsync("/api/login", new { identifier = "1234567812345678", password = "not the right passphrase" });
        Assert.Equal("invalid_credentials", await TestApp.Code(wrong));
        Assert.Equal(await wrong.Content.ReadAsStringAsync(), await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnonymousSignupChecksThePassword()
    {
        var response = await App.PostAsync("/api/signup/anonymous", new { password = "password123" });
        Assert.Equal("weak_password", await TestApp.Code(response));
        var missing = await App.PostRawAsync("/api/signup/anonymous", "{}");
        Assert.Equal("validation_failed", await TestApp.Code(missing));
    }

    [Fact]
    public async Task EachAnonymousSignupGetsItsOwnNumber()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password })));
        var numbers = await Task.WhenAll(responses.Select(async r => (await TestApp.Body(r)).GetProperty("accountNumber").GetString()));
        Assert.Equal(10, numbers.Distinct().Count());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PasswordlessSignupIsVerifiedAndSignedInByTheLinkOrTheCode(bool byLink)
    {
        var email = TestApp.NewEmail("nopass");
        var response = await App.PostAsync("/api/signup/email", new { email, firstName = "Nia" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var mail = (await App.Mail.WaitForAsync(email)).Single();
        Assert.NotNull(mail.Link);
        Assert.NotNull(mail.Code);

        var verified = byLink
            ? await App.PostAsync("/api/email/verify", new { token = mail.Token })
            : await App.PostAsync("/api/email/verify", new { email, code = mail.Code });

        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        var body = await TestApp.Body(verified);
        Assert.Equal("active", body.GetProperty("status").GetString());
        var access = body.GetProperty("session").GetProperty("accessToken").GetString();
        var me = await TestApp.Body(await App.GetAsync("/api/me", access));
        Assert.Equal(email, me.GetProperty("email").GetString());
        Assert.True(me.GetProperty("emailVerified").GetBoolean());
        // No password exists, so no password works.
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
    }

    [Fact]
    public async Task PasswordlessSignupForATakenAddressAnswersTheSame()
    {
        var owner = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var taken = await App.PostAsync("/api/signup/email", new { email = owner });
        var fresh = await App.PostAsync("/api/signup/email", new { email = TestApp.NewEmail() });
        Assert.Equal(fresh.StatusCode, taken.StatusCode);
        Assert.Equal(await fresh.Content.ReadAsStringAsync(), await taken.Content.ReadAsStringAsync());
    }
}

public sealed class InviteOnlyFixture : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Accounts:InviteOnly"] = "true" };
}

public sealed class InviteOnlyTests(InviteOnlyFixture fixture) : IClassFixture<InviteOnlyFixture>
{
    private TestApp App => fixture.App;
    private InviteService Invites => App.Services.GetRequiredService<InviteService>();

    private async Task<string> InviteAsync(string? email = null) => (await Invites.CreateAsync(email)).Value!.Code;

    [Fact]
    public async Task SignupWithoutACodeIsRefusedAndWritesNothing()
    {
        var email = TestApp.NewEmail();
        var response = await App.PostAsync("/api/signup", new { email, password = TestApp.Password });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invite_required", await TestApp.Code(response));
        // The marker: a signup this app admits (with a code), whose verification email must arrive.
        await App.EmailsSettledAsync(async marker =>
        {
            var admitted = await App.PostAsync("/api/signup", new { email = marker, password = TestApp.Password, inviteCode = await InviteAsync() });
            Assert.Equal(HttpStatusCode.Accepted, admitted.StatusCode);
        });
        Assert.Empty(App.Mail.To(email));
    }

    [Fact]
    public async Task AValidCodeAdmitsOneSignupAndThenIsUsedUp()
    {
        var code = await InviteAsync();
        var first = await App.PostAsync("/api/signup", new { email = TestApp.NewEmail(), password = TestApp.Password, inviteCode = code.ToLowerInvariant() });
        var second = await App.PostAsync("/api/signup", new { email = TestApp.NewEmail(), password = TestApp.Password, inviteCode = code });

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("invite_invalid", await TestApp.Code(second));
    }

    [Fact]
    public async Task ACodeBoundToAnAddressAdmitsOnlyThatAddress()
    {
        var email = TestApp.NewEmail("invited");
        var code = await InviteAsync(email);

        var other = await App.PostAsync("/api/signup", new { email = TestApp.NewEmail(), password = TestApp.Password, inviteCode = code });
        var right = await App.PostAsync("/api/signup", new { email = email.ToUpperInvariant(), password = TestApp.Password, inviteCode = code });

        Assert.Equal("invite_invalid", await TestApp.Code(other));
        Assert.Equal(HttpStatusCode.Accepted, right.StatusCode);
    }

    [Fact]
    public async Task AWeakPasswordDoesNotBurnTheInvite()
    {
        var code = await InviteAsync();
        var weak = await App.PostAsync("/api/signup", new { email = TestApp.NewEmail(), password = "password123", inviteCode = code });
        var ok = await App.PostAsync("/api/signup", new { email = TestApp.NewEmail(), password = TestApp.Password, inviteCode = code });

        Assert.Equal("weak_password", await TestApp.Code(weak));
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
    }

    [Fact]
    public async Task TwentyParallelSignupsWithOneCodeAdmitExactlyOne()
    {
        var code = await InviteAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            App.PostAsync("/api/signup", new { email = TestApp.NewEmail("race"), password = TestApp.Password, inviteCode = code })));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Accepted));
        foreach (var r in responses.Where(r => r.StatusCode != HttpStatusCode.Accepted)) Assert.Equal("invite_invalid", await TestApp.Code(r));
    }

    [Fact]
    public async Task AnonymousAndPasswordlessSignupsNeedACodeToo()
    {
        Assert.Equal("invite_required", await TestApp.Code(await App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password })));
        Assert.Equal("invite_required", await TestApp.Code(await App.PostAsync("/api/signup/email", new { email = TestApp.NewEmail() })));
        var code = await InviteAsync();
        Assert.Equal(HttpStatusCode.Created, (await App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password, inviteCode = code })).StatusCode);
    }
}
