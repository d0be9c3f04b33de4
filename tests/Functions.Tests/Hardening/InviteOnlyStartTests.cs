using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

public sealed class InviteOnlyStartFixture : AppFixture
{
    public string Boss { get; } = $"boss.{Guid.NewGuid():N}@example.test";
    public string Deputy { get; } = $"deputy.{Guid.NewGuid():N}@example.test";

    // Spelled differently from how they sign up: the setting is compared normalised.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Accounts:InviteOnly"] = "true",
        ["Accounts:BootstrapAdmins"] = $" {Boss.ToUpperInvariant()} , {Deputy} ",
    };
}

/// <summary>Issue 15.2: an invite-only deployment on fresh storage gets its first admin, who invites the next person.</summary>
public sealed class InviteOnlyStartTests(InviteOnlyStartFixture fixture) : IClassFixture<InviteOnlyStartFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task TheBootstrapAdminSignsUpWithoutAnInviteAndInvitesTheNextPerson()
    {
        var stranger = TestApp.NewEmail("stranger");
        Assert.Equal("invite_required", await TestApp.Code(await App.PostAsync("/api/signup", new { email = stranger, password = TestApp.Password })));

        // 1. The first admin: no invite, then verifies like anyone.
        var signup = await App.PostAsync("/api/signup", new { email = fixture.Boss, password = TestApp.Password, firstName = "Boss" });
        Assert.Equal(HttpStatusCode.Accepted, signup.StatusCode);
        var mail = (await App.Mail.WaitForAsync(fixture.Boss))[0];
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = mail.Token })).StatusCode);
        var session = await App.LoginAsync(fixture.Boss);
        Assert.Equal("admin", session.GetProperty("account").GetProperty("role").GetString());
        Assert.Equal("active", session.GetProperty("account").GetProperty("status").GetString());
        var admin = session.GetProperty("accessToken").GetString()!;

        // 2. An invite (the admin API needs the function key too: TestApp's client sends it).
        var invite = await App.PostAsync("/api/manage/invites", new { }, admin);
        Assert.Equal(HttpStatusCode.Created, invite.StatusCode);
        var code = (await TestApp.Body(invite)).GetProperty("code").GetString()!;

        // 3. The second person joins with it, once.
        var second = TestApp.NewEmail("second");
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/signup", new { email = second, password = TestApp.Password, inviteCode = code })).StatusCode);
        var secondMail = (await App.Mail.WaitForAsync(second))[0];
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = secondMail.Token })).StatusCode);
        var secondSession = await App.LoginAsync(second);
        Assert.Equal("user", secondSession.GetProperty("account").GetProperty("role").GetString());
        Assert.Equal("invite_invalid", await TestApp.Code(await App.PostAsync("/api/signup", new { email = TestApp.NewEmail("third"), password = TestApp.Password, inviteCode = code })));
        // A user still cannot make invites.
        Assert.Equal(HttpStatusCode.Forbidden, (await App.PostAsync("/api/manage/invites", new { }, secondSession.GetProperty("accessToken").GetString())).StatusCode);
    }

    [Fact]
    public async Task ABootstrapAdminMaySignUpPasswordlesslyToo()
    {
        var response = await App.PostAsync("/api/signup/email", new { email = "  " + fixture.Deputy.ToUpperInvariant() });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var mail = (await App.Mail.WaitForAsync(fixture.Deputy))[0];
        var verified = await App.PostAsync("/api/email/verify", new { token = mail.Token });
        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.Equal("admin", (await TestApp.Body(verified)).GetProperty("session").GetProperty("account").GetProperty("role").GetString());
    }

    [Theory]
    [InlineData("/api/signup")]
    [InlineData("/api/signup/email")]
    public async Task OnlyTheBootstrapAddressSkipsTheInvite(string path)
    {
        // Near misses of the address: another local part, another domain, a sub-address.
        foreach (var email in new[] { "x" + fixture.Boss, fixture.Boss.Replace("@example.test", "@example.test.evil"), fixture.Boss.Replace("@", "+1@") })
        {
            var response = await App.PostAsync(path, new { email, password = TestApp.Password });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("invite_required", await TestApp.Code(response));
        }
    }
}
