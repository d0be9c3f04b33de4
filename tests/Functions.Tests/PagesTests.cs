using System.Net;
using System.Net.Http.Json;
using AccountFunctions.Functions.Pages;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>The /account/ pages over plain HTTP: headers, what is served and what is not. (Flows: tests/Browser.Tests.)</summary>
public sealed class PagesTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    private static readonly string[] PagePaths =
    [
        "/account/signup", "/account/login", "/account/verify", "/account/magic", "/account/forgot-password",
        "/account/reset-password", "/account/revert-email", "/account/settings", "/account/manage",
    ];

    public static TheoryData<string> Pages => new(PagePaths);

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal(PageFunctions.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        var csp = PageFunctions.ContentSecurityPolicy;
        foreach (var directive in new[] { "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                     "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'" })
            Assert.Contains(directive, csp);
        Assert.DoesNotContain("unsafe", csp);
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task EveryPageIsHtmlWithAStrictPolicyNoReferrerAndIsNeverCached(string path)
    {
        var response = await App.GetAsync(path + "?token=abc.def");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        AssertSecurityHeaders(response);
        Assert.True(response.Headers.CacheControl!.NoStore);
        var html = await response.Content.ReadAsStringAsync();
        // No inline script or style, nothing from another origin: the policy would block it.
        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=""/account/assets/)", html);
        Assert.DoesNotContain("style=", html);
        Assert.DoesNotContain("<style", html);
        Assert.DoesNotMatch(@"(src|href)=""(https?:)?//", html);
        Assert.DoesNotMatch(@"<[^>]+\son[a-z]+\s*=", html); // no inline event handlers
    }

    [Fact]
    public async Task EveryAssetAPageNamesIsServedWithItsTypeAndTheSameHeaders()
    {
        var assets = new HashSet<string>();
        foreach (var path in PagePaths)
        {
            var html = await App.Http.GetStringAsync(path);
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(html, @"(?:src|href)=""(/account/assets/[^""]+)"""))
                assets.Add(m.Groups[1].Value);
        }
        Assert.Contains("/account/assets/vendor/qrcode.js", assets);
        foreach (var asset in assets)
        {
            var response = await App.GetAsync(asset);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{asset}: {(int)response.StatusCode}");
            Assert.Equal(asset.EndsWith(".css") ? "text/css" : "text/javascript", response.Content.Headers.ContentType!.MediaType);
            AssertSecurityHeaders(response);
            Assert.True(response.Headers.CacheControl!.NoCache);

            using var again = new HttpRequestMessage(HttpMethod.Get, asset);
            again.Headers.TryAddWithoutValidation("If-None-Match", response.Headers.ETag!.Tag);
            Assert.Equal(HttpStatusCode.NotModified, (await App.Http.SendAsync(again)).StatusCode);
        }
        // Every module a script imports is there too.
        foreach (var module in new[] { "app.js", "mfa.js" })
            Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/account/assets/" + module)).StatusCode);
    }

    [Theory]
    [InlineData("/account/nope")]
    [InlineData("/account/assets/nope.js")]
    [InlineData("/account/function.json")]
    [InlineData("/account/assets/../function.json")]
    [InlineData("/account/%2e%2e/%2e%2e/appsettings.json")]
    [InlineData("/account/settings.html")]
    [InlineData("/account/assets/vendor/qrcode.LICENSE.txt/..")]
    public async Task OnlyThePagesAndTheirAssetsAreServed(string path)
    {
        var response = await App.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        // The Pages function's problem, or (a path that leaves /account/ once decoded) the host's empty 404.
        var body = await response.Content.ReadAsStringAsync();
        if (body.Length > 0) Assert.Equal("not_found", await TestApp.Code(response));
    }

    [Fact]
    public async Task TheAccountRootLeadsToSignIn()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(App.BaseUrl) };
        foreach (var path in new[] { "/account", "/account/" })
        {
            var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/account/login", response.Headers.Location!.OriginalString);
        }
    }

    [Fact]
    public async Task OpeningAnEmailedLinkUsesNothingUp()
    {
        var email = TestApp.NewEmail("scan");
        var mail = await App.SignupAsync(email);
        var path = new Uri(mail.Link!).PathAndQuery;

        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await App.GetAsync(path)).StatusCode);
        using var head = new HttpRequestMessage(HttpMethod.Head, path);
        await App.Http.SendAsync(head);

        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = mail.Token })).StatusCode);
    }

    [Fact]
    public async Task ARefreshWithUseCookieMovesABodySessionIntoTheCookie()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var session = await App.LoginAsync(email);
        var refreshToken = session.GetProperty("refreshToken").GetString();

        var moved = await App.PostAsync("/api/token/refresh", new { refreshToken, useCookie = true });

        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await TestApp.Body(moved)).GetProperty("refreshToken").ValueKind);
        var cookie = Assert.Single(moved.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("__Host-refresh=", cookie);
        Assert.Contains("httponly", cookie.ToLowerInvariant());
        // The cookie alone refreshes now (an empty body), and the old body token is spent.
        using var next = new HttpRequestMessage(HttpMethod.Post, "/api/token/refresh");
        next.Headers.Add("Cookie", cookie.Split(';')[0]);
        next.Headers.Add("Sec-Fetch-Site", "same-origin"); // as the pages' fetch sends it (CrossSiteCookieTests)
        Assert.Equal(HttpStatusCode.OK, (await App.Http.SendAsync(next)).StatusCode);
        // Without useCookie a body refresh still answers in the body.
        var plain = await App.PostAsync("/api/token/refresh", new { refreshToken = (await App.LoginAsync(email)).GetProperty("refreshToken").GetString() });
        Assert.False(plain.Headers.Contains("Set-Cookie"));
        Assert.Equal(System.Text.Json.JsonValueKind.String, (await TestApp.Body(plain)).GetProperty("refreshToken").ValueKind);
    }
}
