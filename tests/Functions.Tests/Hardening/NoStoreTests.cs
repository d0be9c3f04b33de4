using System.Net;
using System.Text.Json;
using AccountFunctions.Functions.Tests.Support;
using OtpNet;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>A fake clock (TOTP codes) and a bootstrap admin (invites).</summary>
public sealed class NoStoreFixture : AppFixture
{
    public string AdminEmail { get; } = TestApp.NewEmail("nostore-admin");
    protected override bool FakeClock => true;
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Accounts:BootstrapAdmins"] = AdminEmail };
}

/// <summary>
/// Issue 23: an answer that carries a token or a secret must not be kept by a browser or a proxy
/// cache (<c>Cache-Control: no-store</c>). Every answer of the API is no-store (the edge sets it
/// before a function runs), except the public documents meant to be cached: the JWKS and the
/// OpenAPI document, and the pages, which set their own.
/// </summary>
public sealed class NoStoreTests(NoStoreFixture fixture) : IClassFixture<NoStoreFixture>
{
    private TestApp App => fixture.App;

    private static void AssertNoStore(HttpResponseMessage response, string what)
    {
        Assert.True(response.Headers.CacheControl?.NoStore == true,
            $"{what} ({(int)response.StatusCode}) answered Cache-Control: '{response.Headers.CacheControl}', not no-store");
        Assert.Contains("no-cache", response.Headers.Pragma.Select(p => p.Name));
    }

    /// <summary>Each answer that carries a session, an mfaToken, a TOTP secret, recovery codes or an invite code.</summary>
    [Fact]
    public async Task EveryAnswerCarryingATokenOrSecretIsNoStore()
    {
        var answers = new List<(string What, HttpResponseMessage Response, string Carries)>();
        void Seen(string what, HttpResponseMessage response, string carries) => answers.Add((what, response, carries));

        // Anonymous signup: an account number and a session.
        Seen("POST /api/signup/anonymous", await App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password }), "refreshToken");

        // Password login, body and cookie mode; refresh by body and by cookie.
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("nostore"));
        var login = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Seen("POST /api/login", login, "refreshToken");
        var refreshToken = (await TestApp.Body(login)).GetProperty("refreshToken").GetString();
        Seen("POST /api/token/refresh (body)", await App.PostAsync("/api/token/refresh", new { refreshToken }), "refreshToken");
        var cookieLogin = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password, useCookie = true });
        Seen("POST /api/login (cookie mode)", cookieLogin, "accessToken");
        using (var byCookie = new HttpRequestMessage(HttpMethod.Post, "/api/token/refresh"))
        {
            byCookie.Headers.Add("Cookie", cookieLogin.Headers.GetValues("Set-Cookie").Single().Split(';')[0]);
            byCookie.Headers.Add("Sec-Fetch-Site", "same-origin");
            Seen("POST /api/token/refresh (cookie)", await App.Http.SendAsync(byCookie), "accessToken");
        }

        // Passwordless signup: verifying the address signs in.
        var passwordless = TestApp.NewEmail("nostore-pl");
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/signup/email", new { email = passwordless })).StatusCode);
        var signupMail = (await App.Mail.WaitForAsync(passwordless))[0];
        Seen("POST /api/email/verify (with a session)", await App.PostAsync("/api/email/verify", new { token = signupMail.Token }), "session");

        // Sign-in by email.
        var before = App.Mail.To(email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email })).StatusCode);
        var magic = (await App.Mail.WaitForAsync(email, before + 1))[before];
        Seen("POST /api/login/email/redeem", await App.PostAsync("/api/login/email/redeem", new { token = magic.Token }), "refreshToken");

        // TOTP: the setup secret, the recovery codes, the mfaToken and the second step's session.
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString()!;
        var setup = await App.PostAsync("/api/me/mfa/totp", new { }, access);
        Seen("POST /api/me/mfa/totp", setup, "secret");
        var secret = Base32Encoding.ToBytes((await TestApp.Body(setup)).GetProperty("secret").GetString()!);
        Seen("POST /api/me/mfa/totp/confirm", await App.PostAsync("/api/me/mfa/totp/confirm", new { code = Authenticator.CodeNow(App, secret) }, access), "recoveryCodes");
        var challenge = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Seen("POST /api/login (mfaRequired)", challenge, "mfaToken");
        var mfaToken = (await TestApp.Body(challenge)).GetProperty("mfaToken").GetString();
        Seen("POST /api/login/mfa", await App.PostAsync("/api/login/mfa", new { mfaToken, code = Authenticator.NextCode(App, secret) }), "refreshToken");

        // An admin's invite code.
        await App.SignupVerifiedAsync(fixture.AdminEmail);
        var admin = (await App.LoginAsync(fixture.AdminEmail)).GetProperty("accessToken").GetString()!;
        Seen("POST /api/manage/invites", await App.PostAsync("/api/manage/invites", new { }, admin), "code");

        foreach (var (what, response, carries) in answers)
        {
            Assert.True(response.IsSuccessStatusCode, $"{what} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            Assert.Contains($"\"{carries}\"", await response.Content.ReadAsStringAsync());
            AssertNoStore(response, what);
        }
    }

    /// <summary>
    /// Every HTTP function the host serves, asked once with an empty JSON body: whatever it answers
    /// (a refusal too: it may still be a token's answer on another day) is no-store, except the
    /// documents that are public by design, which say how long they may be cached.
    /// </summary>
    [Fact]
    public async Task EveryApiAnswerIsNoStoreExceptThePublicDocuments()
    {
        var cacheable = new Dictionary<string, string>
        {
            ["GET /api/.well-known/jwks.json"] = "public, max-age=300",
            ["GET /api/openapi.json"] = "public, max-age=300",
        };
        var functions = App.HttpFunctions.Where(f => f.Route.StartsWith("api/", StringComparison.Ordinal)).ToList();
        Assert.True(functions.Count > 40, $"only {functions.Count} functions under /api/");
        foreach (var function in functions)
        foreach (var method in function.Methods.Where(m => m != "HEAD"))
        {
            var what = $"{method} /{function.Route}";
            using var request = new HttpRequestMessage(new HttpMethod(method), function.SamplePath);
            if (method is not ("GET" or "DELETE")) request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
            var response = await App.Http.SendAsync(request);
            Assert.True((int)response.StatusCode < 500, $"{what} answered {(int)response.StatusCode}");
            var key = $"{method} {new Uri(App.Http.BaseAddress!, function.SamplePath).AbsolutePath}";
            if (cacheable.TryGetValue(key, out var expected))
            {
                Assert.Equal(expected, response.Headers.CacheControl?.ToString());
                Assert.Empty(response.Headers.Pragma);
            }
            else AssertNoStore(response, what);
        }
        // A path no function has: the catch-all's 404 problem is no-store too.
        AssertNoStore(await App.GetAsync("/api/no/such/route"), "GET /api/no/such/route");
    }
}
