using System.Net;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Core.External;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>A test app whose providers point at the real oidc-provider, with a fake clock.</summary>
public class ExternalLoginFixture : IAsyncLifetime
{
    public const string ReturnUrl = "https://app.example.test/signed-in";
    public TestApp App { get; private set; } = null!;
    protected virtual IDictionary<string, string?> Mode => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        var provider = await OidcProvider.GetAsync();
        var settings = provider.Settings();
        settings["Accounts__AllowedReturnUrls"] = $"{ReturnUrl}, https://app.example.test/area/";
        foreach (var (k, v) in Mode) settings[k] = v;
        App = await TestApp.StartAsync(settings, fakeClock: true);
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>Drives sign-ins through the real provider; shared by the external sign-in test classes.</summary>
public static class ExternalSignIn
{
    /// <summary>Query of the provider's login step for an ad-hoc person.</summary>
    public static string Person(string sub, string? email = null, bool verified = false, string? givenName = null) =>
        $"sub={Uri.EscapeDataString(sub)}" + (email is null ? "" : $"&email={Uri.EscapeDataString(email)}&email_verified={(verified ? "true" : "false")}")
        + (givenName is null ? "" : $"&given_name={Uri.EscapeDataString(givenName)}");

    public static string NewSub() => "sub-" + Guid.NewGuid().ToString("N");

    /// <summary>Start, provider, callback: the callback's answer (a redirect to returnUrl#… when all went well).</summary>
    public static async Task<HttpResponseMessage> CallbackAsync(TestApp app, string login, string provider = "test",
        string returnUrl = ExternalLoginFixture.ReturnUrl, Func<Uri, Uri>? tamperAuthorize = null)
    {
        using var browser = new Browser(app);
        var start = await browser.StartAsync(provider, returnUrl);
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var authorize = start.Headers.Location!;
        var back = await browser.AtProviderAsync(tamperAuthorize is null ? authorize : tamperAuthorize(authorize), login);
        return await browser.CallbackAsync(back);
    }

    /// <summary>The fragment parameter (code or error) of a redirect to the returnUrl.</summary>
    public static (string Name, string Value) Fragment(HttpResponseMessage response, string returnUrl = ExternalLoginFixture.ReturnUrl)
    {
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.OriginalString;
        Assert.StartsWith(returnUrl + "#", location);
        var pair = location[(location.IndexOf('#') + 1)..].Split('=', 2);
        return (pair[0], Uri.UnescapeDataString(pair[1]));
    }

    public static async Task<string> ExchangeCodeAsync(TestApp app, string login, string provider = "test")
    {
        var (name, value) = Fragment(await CallbackAsync(app, login, provider));
        Assert.True(name == "code", $"expected a code, got {name}={value}");
        return value;
    }

    public static Task<HttpResponseMessage> ExchangeAsync(TestApp app, string code) => app.PostAsync("/api/login/external/exchange", new { code });

    /// <summary>Signs in all the way: the session's body.</summary>
    public static async Task<JsonElement> SignInAsync(TestApp app, string login, string provider = "test")
    {
        var response = await ExchangeAsync(app, await ExchangeCodeAsync(app, login, provider));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await TestApp.Body(response);
    }

    public static Task<IdentifierRow?> IndexRowAsync(TestApp app, string provider, string sub) =>
        app.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(ExternalLinks.IndexKey(ExternalLinks.SubjectHash(provider, sub)), ExternalLinks.OwnerRow);
}

public sealed class ExternalLoginTests(ExternalLoginFixture fixture) : IClassFixture<ExternalLoginFixture>
{
    private TestApp App => fixture.App;

    private async Task<JsonElement> MeAsync(string access)
    {
        var me = await App.GetAsync("/api/me", access);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        return await TestApp.Body(me);
    }

    private static string[] Providers(JsonElement me) =>
        me.GetProperty("externalLogins").EnumerateArray().Select(l => l.GetProperty("provider").GetString()!).Order().ToArray();

    [Fact]
    public async Task AFirstSignInCreatesAnActiveAccountWithTheVerifiedEmailAndTheNextSignInFindsIt()
    {
        var sub = ExternalSignIn.NewSub();
        var email = TestApp.NewEmail("oidc");
        var login = ExternalSignIn.Person(sub, email, verified: true, givenName: "Olga");

        var session = await ExternalSignIn.SignInAsync(App, login);

        var account = session.GetProperty("account");
        Assert.Equal("active", account.GetProperty("status").GetString());
        Assert.Equal(email, account.GetProperty("email").GetString());
        Assert.True(account.GetProperty("emailVerified").GetBoolean());
        Assert.Equal("Olga", account.GetProperty("firstName").GetString());
        var me = await MeAsync(session.GetProperty("accessToken").GetString()!);
        Assert.Equal(["test"], Providers(me));
        var again = await ExternalSignIn.SignInAsync(App, login);
        Assert.Equal(account.GetProperty("id").GetString(), again.GetProperty("account").GetProperty("id").GetString());
        // The provider's verified address is this account's now: it can sign in by email too.
        var before = App.Mail.To(email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email })).StatusCode);
        Assert.Equal("Your sign-in link", (await App.Mail.WaitForAsync(email, before + 1))[before].Subject);
    }

    [Fact]
    public async Task AnAccountWithMfaAnswersTheSecondFactorAfterTheExchange()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("oidc"));
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString()!;
        var setup = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
        var secret = OtpNet.Base32Encoding.ToBytes(setup.GetProperty("secret").GetString()!);
        var now = (App.Clock?.GetUtcNow() ?? DateTimeOffset.UtcNow).UtcDateTime;
        var confirm = await App.PostAsync("/api/me/mfa/totp/confirm", new { code = new OtpNet.Totp(secret).ComputeTotp(now) }, access);
        var recoveryCode = (await TestApp.Body(confirm)).GetProperty("recoveryCodes")[0].GetString();

        var exchange = await ExternalSignIn.ExchangeAsync(App,
            await ExternalSignIn.ExchangeCodeAsync(App, ExternalSignIn.Person(ExternalSignIn.NewSub(), email, verified: true)));

        Assert.Equal(HttpStatusCode.OK, exchange.StatusCode);
        var body = await TestApp.Body(exchange);
        Assert.True(body.GetProperty("mfaRequired").GetBoolean());
        Assert.False(body.TryGetProperty("accessToken", out _));
        var second = await App.PostAsync("/api/login/mfa", new { mfaToken = body.GetProperty("mfaToken").GetString(), recoveryCode });
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(email, (await TestApp.Body(second)).GetProperty("account").GetProperty("email").GetString());
    }

    [Fact]
    public async Task AVerifiedProviderEmailLinksTheLoginToTheAccountThatVerifiedIt()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("oidc"));
        var passwordSession = await App.LoginAsync(email);
        var sub = ExternalSignIn.NewSub();

        var session = await ExternalSignIn.SignInAsync(App, ExternalSignIn.Person(sub, email.ToUpperInvariant(), verified: true));

        var id = passwordSession.GetProperty("account").GetProperty("id").GetString();
        Assert.Equal(id, session.GetProperty("account").GetProperty("id").GetString());
        Assert.Equal(["test"], Providers(await MeAsync(passwordSession.GetProperty("accessToken").GetString()!)));
        Assert.Equal(id, (await ExternalSignIn.IndexRowAsync(App, "test", sub))!.AccountId);
        // The other client (client_secret_post) links too, by the same rule.
        var post = await ExternalSignIn.SignInAsync(App, ExternalSignIn.Person(ExternalSignIn.NewSub(), email, verified: true), "testpost");
        Assert.Equal(id, post.GetProperty("account").GetProperty("id").GetString());
        Assert.Equal(["test", "testpost"], Providers(await MeAsync(post.GetProperty("accessToken").GetString()!)));
    }

    [Fact]
    public async Task AnUnverifiedProviderEmailNeverLinksAndTheNewAccountDoesNotGetIt()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("oidc"));
        var existing = await App.LoginAsync(email);

        var session = await ExternalSignIn.SignInAsync(App, ExternalSignIn.Person(ExternalSignIn.NewSub(), email, verified: false));

        var account = session.GetProperty("account");
        Assert.NotEqual(existing.GetProperty("account").GetProperty("id").GetString(), account.GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, account.GetProperty("email").ValueKind);
        Assert.False(account.GetProperty("emailVerified").GetBoolean());
        Assert.Empty(Providers(await MeAsync(existing.GetProperty("accessToken").GetString()!)));
        // An unverified address nobody owns is not taken either.
        var fresh = TestApp.NewEmail("oidc");
        var other = await ExternalSignIn.SignInAsync(App, ExternalSignIn.Person(ExternalSignIn.NewSub(), fresh, verified: false));
        Assert.Equal(JsonValueKind.Null, other.GetProperty("account").GetProperty("email").ValueKind);
        Assert.Null(await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(fresh)), IdentifierIndex.OwnerRow));
    }

    [Fact]
    public async Task ATamperedStateOrAnotherBrowserIsRefusedWithNothingTouchedAndAStateWorksOnlyOnce()
    {
        var sub = ExternalSignIn.NewSub();
        using var browser = new Browser(App);
        var start = await browser.StartAsync("test", ExternalLoginFixture.ReturnUrl);
        var back = await browser.AtProviderAsync(start.Headers.Location!, ExternalSignIn.Person(sub, TestApp.NewEmail("oidc"), verified: true));
        var state = System.Web.HttpUtility.ParseQueryString(back.Query)["state"]!;
        var tampered = new Uri(back.AbsoluteUri.Replace("state=" + state, "state=" + (state[0] == 'A' ? 'B' : 'A') + state[1..]));

        var forged = await browser.CallbackAsync(tampered);
        var noCookie = await browser.CallbackAsync(back, withCookie: false);
        var otherBrowser = new Browser(App) { BindingCookie = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(new byte[32]) };
        var wrongCookie = await otherBrowser.CallbackAsync(back);

        foreach (var refused in new[] { forged, noCookie, wrongCookie })
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_token", await TestApp.Code(refused));
        }
        Assert.Null(await ExternalSignIn.IndexRowAsync(App, "test", sub));
        Assert.Equal("code", ExternalSignIn.Fragment(await browser.CallbackAsync(back)).Name);
        var replay = await browser.CallbackAsync(back);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(replay));
    }

    [Fact]
    public async Task AnIdTokenWithAnotherNonceIsRefusedAndNoAccountIsTouched()
    {
        var sub = ExternalSignIn.NewSub();
        // The provider is asked with an attacker's nonce; everything else (state, PKCE, cookie) is right.
        var response = await ExternalSignIn.CallbackAsync(App, ExternalSignIn.Person(sub, TestApp.NewEmail("oidc"), verified: true),
            tamperAuthorize: u => new Uri(System.Text.RegularExpressions.Regex.Replace(u.AbsoluteUri, "nonce=[^&]+", "nonce=attacker-chosen-nonce")));

        Assert.Equal(("error", "invalid_id_token"), ExternalSignIn.Fragment(response));
        Assert.Null(await ExternalSignIn.IndexRowAsync(App, "test", sub));
    }

    [Fact]
    public async Task AnotherPkceChallengeMakesTheProviderRefuseTheCode()
    {
        var sub = ExternalSignIn.NewSub();
        var response = await ExternalSignIn.CallbackAsync(App, ExternalSignIn.Person(sub),
            tamperAuthorize: u => new Uri(System.Text.RegularExpressions.Regex.Replace(u.AbsoluteUri, "code_challenge=[^&]+",
                "code_challenge=" + Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(new byte[32]))));

        Assert.Equal(("error", "token_exchange_failed"), ExternalSignIn.Fragment(response));
        Assert.Null(await ExternalSignIn.IndexRowAsync(App, "test", sub));
    }

    [Fact]
    public async Task TheProvidersRefusalGoesBackToTheReturnUrlAsAnError()
    {
        var response = await ExternalSignIn.CallbackAsync(App, "deny=1");

        Assert.Equal(("error", "access_denied"), ExternalSignIn.Fragment(response));
    }

    [Theory]
    [InlineData("https://evil.example/signed-in")]
    [InlineData("https://app.example.test.evil.example/signed-in")]
    [InlineData("https://app.example.test/signed-in-elsewhere")]
    [InlineData("https://app.example.test/area")]
    [InlineData("https://app.example.test/area/../admin")]
    [InlineData("https://app.example.test/area/..%2F..%2Fadmin")]
    [InlineData("http://app.example.test/signed-in")]
    [InlineData("https://app.example.test:8443/signed-in")]
    [InlineData("https://app.example.test@evil.example/signed-in")]
    [InlineData("https://user@app.example.test/signed-in")]
    [InlineData("https://app.example.test/signed-in#code=planted")]
    [InlineData("//evil.example/signed-in")]
    [InlineData("/signed-in")]
    [InlineData("javascript:alert(1)")]
    [InlineData("")]
    public async Task AReturnUrlThatIsNotAllowedIsRefusedBeforeAnyRedirect(string returnUrl)
    {
        using var browser = new Browser(App);
        var response = await browser.StartAsync("test", returnUrl);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_failed", await TestApp.Code(response));
        Assert.Null(browser.BindingCookie);
    }

    [Theory]
    [InlineData("https://app.example.test/signed-in?tab=2")]
    [InlineData("https://app.example.test/area/deep/page")]
    [InlineData("HTTPS://APP.EXAMPLE.TEST/signed-in")]
    public async Task AllowedReturnUrlsStartTheFlowWithStateNonceAndS256(string returnUrl)
    {
        using var browser = new Browser(App);
        var response = await browser.StartAsync("test", returnUrl);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var query = System.Web.HttpUtility.ParseQueryString(response.Headers.Location!.Query);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(43, query["code_challenge"]!.Length);
        Assert.Equal(43, query["state"]!.Length);
        Assert.Equal(43, query["nonce"]!.Length);
        Assert.Equal("https://accounts.example.test/api/login/external/test/callback", query["redirect_uri"]);
        Assert.Contains("HttpOnly", string.Join(";", response.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(browser.BindingCookie);
    }

    [Fact]
    public async Task AnUnknownProviderIs404()
    {
        using var browser = new Browser(App);
        var response = await browser.StartAsync("nosuch", ExternalLoginFixture.ReturnUrl);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", await TestApp.Code(response));
    }

    [Fact]
    public async Task TheExchangeCodeWorksOnceEvenUnderTwentyParallelExchanges()
    {
        var code = await ExternalSignIn.ExchangeCodeAsync(App, ExternalSignIn.Person(ExternalSignIn.NewSub()));

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => ExternalSignIn.ExchangeAsync(App, code)));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        foreach (var loser in responses.Where(r => r.StatusCode != HttpStatusCode.OK)) Assert.Equal("invalid_token", await TestApp.Code(loser));
        Assert.Equal("invalid_token", await TestApp.Code(await ExternalSignIn.ExchangeAsync(App, code)));
    }

    [Fact]
    public async Task TheExchangeCodeLastsTwoMinutesAndNotASecondLonger()
    {
        var login = ExternalSignIn.Person(ExternalSignIn.NewSub());
        var early = await ExternalSignIn.ExchangeCodeAsync(App, login);
        App.Clock!.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await ExternalSignIn.ExchangeAsync(App, early)).StatusCode);

        var late = await ExternalSignIn.ExchangeCodeAsync(App, login);
        App.Clock.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        Assert.Equal("invalid_token", await TestApp.Code(await ExternalSignIn.ExchangeAsync(App, late)));
    }

    [Fact]
    public async Task ALockedAccountIsRefusedWithTheCodeLoginUses()
    {
        var login = ExternalSignIn.Person(ExternalSignIn.NewSub());
        var id = (await ExternalSignIn.SignInAsync(App, login)).GetProperty("account").GetProperty("id").GetString()!;
        var account = (await App.Storage.Accounts.GetOrNullAsync<Account>(id, Account.Row))!;
        account.Status = AccountStatus.Locked;
        Assert.True(await App.Storage.Accounts.TryReplaceAsync(account));

        var response = await ExternalSignIn.ExchangeAsync(App, await ExternalSignIn.ExchangeCodeAsync(App, login));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("account_locked", await TestApp.Code(response));
    }

    [Fact]
    public async Task TheOnlyWayToSignInCannotBeUnlinkedButOneBesideAPasswordCan()
    {
        // Only the provider: no password, no verified email.
        var only = await ExternalSignIn.SignInAsync(App, ExternalSignIn.Person(ExternalSignIn.NewSub()));
        var onlyAccess = only.GetProperty("accessToken").GetString()!;
        var refused = await App.SendAsync(HttpMethod.Delete, "/api/me/external/test", bearer: onlyAccess);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("invalid_state", await TestApp.Code(refused));
        Assert.Equal(["test"], Providers(await MeAsync(onlyAccess)));

        // Beside a password: unlinked, and the index row is gone.
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("oidc"));
        var sub = ExternalSignIn.NewSub();
        var linked = await ExternalSignIn.SignInAsync(App, ExternalSignIn.Person(sub, email, verified: true));
        var access = linked.GetProperty("accessToken").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await App.SendAsync(HttpMethod.Delete, "/api/me/external/test", bearer: access)).StatusCode);
        Assert.Empty(Providers(await MeAsync(access)));
        Assert.Null(await ExternalSignIn.IndexRowAsync(App, "test", sub));
        Assert.Equal("not_found", await TestApp.Code(await App.SendAsync(HttpMethod.Delete, "/api/me/external/test", bearer: access)));
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.SendAsync(HttpMethod.Delete, "/api/me/external/test")).StatusCode);
    }

    [Fact]
    public async Task DeletingTheAccountRemovesItsExternalIndexRow()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("oidc"));
        var sub = ExternalSignIn.NewSub();
        var session = await ExternalSignIn.SignInAsync(App, ExternalSignIn.Person(sub, email, verified: true));
        Assert.NotNull(await ExternalSignIn.IndexRowAsync(App, "test", sub));

        var deleted = await App.SendAsync(HttpMethod.Delete, "/api/me", new { currentPassword = TestApp.Password }, session.GetProperty("accessToken").GetString());

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Null(await ExternalSignIn.IndexRowAsync(App, "test", sub));
    }

    [Fact]
    public async Task TwoFirstSignInsOfOneSubjectInParallelEndInOneAccount()
    {
        var login = ExternalSignIn.Person(ExternalSignIn.NewSub());
        var codes = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => ExternalSignIn.ExchangeCodeAsync(App, login)));
        var sessions = await Task.WhenAll(codes.Select(async c => await TestApp.Body(await ExternalSignIn.ExchangeAsync(App, c))));

        Assert.Single(sessions.Select(s => s.GetProperty("account").GetProperty("id").GetString()).Distinct());
    }
}

public sealed class ApprovalModeExternalFixture : ExternalLoginFixture
{
    protected override IDictionary<string, string?> Mode => new Dictionary<string, string?> { ["Accounts__RequireAdminApproval"] = "true" };
}

public sealed class InviteOnlyExternalFixture : ExternalLoginFixture
{
    protected override IDictionary<string, string?> Mode => new Dictionary<string, string?> { ["Accounts__InviteOnly"] = "true" };
}

public sealed class ExternalLoginApprovalModeTests(ApprovalModeExternalFixture fixture) : IClassFixture<ApprovalModeExternalFixture>
{
    [Fact]
    public async Task ANewAccountWaitsForApprovalAndTheExchangeSaysSoAsLoginWould()
    {
        var response = await ExternalSignIn.ExchangeAsync(fixture.App,
            await ExternalSignIn.ExchangeCodeAsync(fixture.App, ExternalSignIn.Person(ExternalSignIn.NewSub(), TestApp.NewEmail("oidc"), verified: true)));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("approval_pending", await TestApp.Code(response));
    }
}

public sealed class ExternalLoginInviteOnlyTests(InviteOnlyExternalFixture fixture) : IClassFixture<InviteOnlyExternalFixture>
{
    [Fact]
    public async Task ANewAccountIsRefusedWithTheInviteErrorAndNothingIsCreated()
    {
        var sub = ExternalSignIn.NewSub();
        var response = await ExternalSignIn.CallbackAsync(fixture.App, ExternalSignIn.Person(sub, TestApp.NewEmail("oidc"), verified: true));

        Assert.Equal(("error", "invite_required"), ExternalSignIn.Fragment(response));
        Assert.Null(await ExternalSignIn.IndexRowAsync(fixture.App, "test", sub));
    }
}
