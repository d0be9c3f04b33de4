using System.Net;
using System.Net.Http.Json;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>
/// Issue 23: the <c>__Host-refresh</c> cookie is SameSite=Strict, which still sends it with a request
/// from a sibling subdomain (same site, another origin). Refresh and logout that take the token from
/// the cookie act only on a same-origin request: <c>Sec-Fetch-Site: same-origin</c>, or, from a
/// browser that does not send Fetch Metadata, an <c>Origin</c> equal to Accounts__PublicBaseUrl's
/// origin. Anything else is <c>403 cross_site_request</c> and leaves the session (and the cookie)
/// as it was. A refresh token in the body is no ambient credential: body mode is unchanged.
/// </summary>
public sealed class CrossSiteCookieTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;
    private const string PublicOrigin = "https://accounts.example.test"; // TestApp's Accounts__PublicBaseUrl

    /// <summary>A cookie-mode session: the cookie (name=value) and the access token.</summary>
    private async Task<(string Cookie, string Access)> CookieSessionAsync()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("xsite"));
        var login = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password, useCookie = true });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (login.Headers.GetValues("Set-Cookie").Single().Split(';')[0],
            (await TestApp.Body(login)).GetProperty("accessToken").GetString()!);
    }

    private async Task<HttpResponseMessage> WithCookieAsync(string path, string cookie, string? fetchSite, string? origin, object? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add("Cookie", cookie);
        if (fetchSite is not null) request.Headers.Add("Sec-Fetch-Site", fetchSite);
        if (origin is not null) request.Headers.Add("Origin", origin);
        if (body is not null) request.Content = JsonContent.Create(body);
        return await App.Http.SendAsync(request);
    }

    // Sec-Fetch-Site and Origin as a browser sends them from elsewhere, or as no browser would.
    public static TheoryData<string?, string?> CrossSite => new()
    {
        { "same-site", "https://sibling.example.test" },   // a sibling subdomain: the cookie is sent
        { "cross-site", "https://attacker.test" },
        { "same-site", null },
        { "none", null },
        { null, "https://sibling.example.test" },          // a browser without Fetch Metadata
        { null, "null" },                                  // an opaque origin (sandboxed frame, data: URL)
        { null, PublicOrigin + ".attacker.test" },
        { null, "http://accounts.example.test" },          // another scheme is another origin
        { null, null },                                    // neither: not provably from the pages
    };

    [Theory]
    [MemberData(nameof(CrossSite))]
    public async Task ACrossSiteLogoutOrRefreshByCookieIsRefusedAndTheSessionLivesOn(string? fetchSite, string? origin)
    {
        var (cookie, access) = await CookieSessionAsync();

        var logout = await WithCookieAsync("/api/logout", cookie, fetchSite, origin);
        var refresh = await WithCookieAsync("/api/token/refresh", cookie, fetchSite, origin);
        // Also when the body asks for the cookie ({useCookie: true} without a token).
        var refreshWithBody = await WithCookieAsync("/api/token/refresh", cookie, fetchSite, origin, new { useCookie = true });

        foreach (var (what, response) in new[] { ("logout", logout), ("refresh", refresh), ("refresh {useCookie}", refreshWithBody) })
        {
            Assert.True(HttpStatusCode.Forbidden == response.StatusCode, $"{what} answered {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("cross_site_request", await TestApp.Code(response));
            Assert.False(response.Headers.Contains("Set-Cookie"), $"{what} touched the cookie");
        }
        // Nothing happened to the session: the access token still works, and the cookie (never
        // rotated) still refreshes from the app's own origin.
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", access)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WithCookieAsync("/api/token/refresh", cookie, "same-origin", null)).StatusCode);
    }

    [Fact]
    public async Task ASameOriginRefreshAndLogoutByCookieWork()
    {
        // Fetch Metadata says same-origin (a browser's fetch from the pages: it also sends Origin).
        var (cookie, access) = await CookieSessionAsync();
        var refresh = await WithCookieAsync("/api/token/refresh", cookie, "same-origin", App.BaseUrl);
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        cookie = refresh.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        var logout = await WithCookieAsync("/api/logout", cookie, "same-origin", App.BaseUrl);
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Contains(logout.Headers.GetValues("Set-Cookie"), c => c.StartsWith("__Host-refresh=;", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", access)).StatusCode);

        // No Fetch Metadata (an older browser): the Origin is the public one.
        (cookie, access) = await CookieSessionAsync();
        refresh = await WithCookieAsync("/api/token/refresh", cookie, null, PublicOrigin);
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        cookie = refresh.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        Assert.Equal(HttpStatusCode.NoContent, (await WithCookieAsync("/api/logout", cookie, null, PublicOrigin)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", access)).StatusCode);
    }

    [Fact]
    public async Task ARefreshTokenInTheBodyIsNoAmbientCredentialAndWorksFromAnywhere()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("xsite-body"));
        var session = await App.LoginAsync(email);
        var refreshToken = session.GetProperty("refreshToken").GetString()!;

        using var refresh = new HttpRequestMessage(HttpMethod.Post, "/api/token/refresh") { Content = JsonContent.Create(new { refreshToken }) };
        refresh.Headers.Add("Sec-Fetch-Site", "cross-site");
        refresh.Headers.Add("Origin", "https://another-app.test");
        var refreshed = await App.Http.SendAsync(refresh);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);

        using var logout = new HttpRequestMessage(HttpMethod.Post, "/api/logout")
        {
            Content = JsonContent.Create(new { refreshToken = (await TestApp.Body(refreshed)).GetProperty("refreshToken").GetString() }),
        };
        logout.Headers.Add("Sec-Fetch-Site", "cross-site");
        logout.Headers.Add("Origin", "https://another-app.test");
        Assert.Equal(HttpStatusCode.NoContent, (await App.Http.SendAsync(logout)).StatusCode);
    }
}
