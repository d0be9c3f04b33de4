using System.Net;
using System.Text.Json;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Functions.Tests;

public sealed class LoginTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task LoginReturnsASessionAndTheAccessTokenOpensApiMe()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());

        var session = await App.LoginAsync(email.ToUpperInvariant());

        Assert.Equal("Bearer", session.GetProperty("tokenType").GetString());
        Assert.Equal(900, session.GetProperty("expiresIn").GetInt32());
        Assert.InRange(session.GetProperty("refreshExpiresIn").GetInt32(), 86395, 86400);
        var me = await App.GetAsync("/api/me", session.GetProperty("accessToken").GetString());
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        var account = await TestApp.Body(me);
        Assert.Equal(email, account.GetProperty("email").GetString());
        Assert.Equal("active", account.GetProperty("status").GetString());
        Assert.Equal("user", account.GetProperty("role").GetString());
        Assert.NotEqual(JsonValueKind.Null, account.GetProperty("lastLoginAt").ValueKind);
    }

    [Fact]
    public async Task LoginFailsGivenUnknownEmailWithSameBodyAsWrongPassword()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());

        var wrong = await App.PostAsync("/api/login", new { identifier = email, password = "not the right passphrase" });
        var unknown = await App.PostAsync("/api/login", new { identifier = TestApp.NewEmail(), password = "not the right passphrase" });

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(wrong.StatusCode, unknown.StatusCode);
        Assert.Equal(await wrong.Content.ReadAsStringAsync(), await unknown.Content.ReadAsStringAsync());
        Assert.Equal("invalid_credentials", await TestApp.Code(unknown));
    }

    [Fact]
    public async Task LoginBeforeVerificationIsRefusedOnlyOnceThePasswordIsRight()
    {
        var email = TestApp.NewEmail();
        await App.SignupAsync(email);

        var wrong = await App.PostAsync("/api/login", new { identifier = email, password = "not the right passphrase" });
        var right = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });

        Assert.Equal("invalid_credentials", await TestApp.Code(wrong));
        Assert.Equal(HttpStatusCode.Forbidden, right.StatusCode);
        Assert.Equal("email_not_verified", await TestApp.Code(right));
    }

    [Fact]
    public async Task ApiMeWithoutOrWithABadTokenIs401()
    {
        Assert.Equal("unauthorized", await TestApp.Code(await App.GetAsync("/api/me")));
        Assert.Equal("unauthorized", await TestApp.Code(await App.GetAsync("/api/me", "not.a.jwt")));
        var none = await App.GetAsync("/api/me", "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4Iiwic2lkIjoieSIsInJvbGUiOiJhZG1pbiJ9.");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task AccessTokenVerifiesWithThePublishedJwks()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var session = await App.LoginAsync(email);
        var jwks = new JsonWebKeySet(await App.Http.GetStringAsync("/api/.well-known/jwks.json"));

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(session.GetProperty("accessToken").GetString(), new TokenValidationParameters
        {
            ValidIssuer = "https://accounts.example.test",
            ValidAudience = "https://accounts.example.test",
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = ["ES256"],
        });

        Assert.True(result.IsValid, result.Exception?.Message);
        var token = (JsonWebToken)result.SecurityToken;
        Assert.Equal(session.GetProperty("account").GetProperty("id").GetString(), token.Subject);
        Assert.False(string.IsNullOrEmpty(token.GetClaim("sid").Value));
        Assert.All(jwks.Keys, k => Assert.Null(k.D)); // public keys only
    }

    [Fact]
    public async Task LogoutEndsTheAccessTokenAtOnce()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var session = await App.LoginAsync(email);
        var access = session.GetProperty("accessToken").GetString();
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", access)).StatusCode);

        var logout = await App.PostAsync("/api/logout", new { refreshToken = session.GetProperty("refreshToken").GetString() });

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", access)).StatusCode);
    }

    [Fact]
    public async Task RefreshRotatesAndReuseAfterTheGraceEndsTheSession()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var session = await App.LoginAsync(email);
        var first = session.GetProperty("refreshToken").GetString();

        var rotated = await TestApp.Body(await App.PostAsync("/api/token/refresh", new { refreshToken = first }));
        var second = rotated.GetProperty("refreshToken").GetString();
        Assert.NotEqual(first, second);
        // Within the grace window, the same successor (parallel tabs).
        var again = await TestApp.Body(await App.PostAsync("/api/token/refresh", new { refreshToken = first }));
        Assert.Equal(second, again.GetProperty("refreshToken").GetString());
        // The successor rotates on; now the first is two generations old: reuse.
        var third = await TestApp.Body(await App.PostAsync("/api/token/refresh", new { refreshToken = second }));
        var reuse = await App.PostAsync("/api/token/refresh", new { refreshToken = first });

        Assert.Equal(HttpStatusCode.Unauthorized, reuse.StatusCode);
        Assert.Equal("token_reused", await TestApp.Code(reuse));
        var dead = await App.PostAsync("/api/token/refresh", new { refreshToken = third.GetProperty("refreshToken").GetString() });
        Assert.Equal("invalid_token", await TestApp.Code(dead));
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", third.GetProperty("accessToken").GetString())).StatusCode);
    }

    [Fact]
    public async Task ParallelRefreshesOfOneTokenAllGetTheSameSuccessor()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var token = (await App.LoginAsync(email)).GetProperty("refreshToken").GetString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => App.PostAsync("/api/token/refresh", new { refreshToken = token })));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var successors = await Task.WhenAll(responses.Select(async r => (await TestApp.Body(r)).GetProperty("refreshToken").GetString()));
        Assert.Single(successors.Distinct());
    }

    [Fact]
    public async Task CookieModeKeepsTheRefreshTokenOutOfTheBody()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());

        var response = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password, useCookie = true });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonValueKind.Null, (await TestApp.Body(response)).GetProperty("refreshToken").ValueKind);
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("__Host-refresh=", cookie);
        Assert.Contains("httponly", cookie.ToLowerInvariant());
        Assert.Contains("secure", cookie.ToLowerInvariant());
        Assert.Contains("samesite=strict", cookie.ToLowerInvariant());
        Assert.Contains("path=/", cookie.ToLowerInvariant());
    }

    [Fact]
    public async Task TenFailedLoginsThrottleTheIdentifierEvenForTheRightPasswordAndEvenIfNoAccountExists()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var unknown = TestApp.NewEmail("ghost");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = "wrong passphrase " + i })));
            Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = unknown, password = "wrong passphrase " + i })));
        }

        var known = await App.PostAsync("/api/login", new { identifier = email.ToUpperInvariant(), password = TestApp.Password });
        var ghost = await App.PostAsync("/api/login", new { identifier = unknown, password = TestApp.Password });

        Assert.Equal((HttpStatusCode)429, known.StatusCode);
        Assert.Equal("too_many_requests", await TestApp.Code(known));
        Assert.InRange(int.Parse(known.Headers.GetValues("Retry-After").Single()), 1, 900);
        Assert.Equal(known.StatusCode, ghost.StatusCode);
        Assert.Equal(await known.Content.ReadAsStringAsync(), await ghost.Content.ReadAsStringAsync());
        // Another identifier is unaffected.
        var other = await App.SignupVerifiedAsync(TestApp.NewEmail());
        await App.LoginAsync(other);
    }

    [Fact]
    public async Task SessionsAreListedWithClientDetailsAndOneCanBeEndedFromAnother()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail());
        using var phoneLogin = new HttpRequestMessage(HttpMethod.Post, "/api/login")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { identifier = email, password = TestApp.Password }),
        };
        phoneLogin.Headers.Add("User-Agent", "PhoneApp/1.0");
        phoneLogin.Headers.Add("X-Forwarded-For", "198.51.100.7, 203.0.113.9");
        var phone = await TestApp.Body(await App.Http.SendAsync(phoneLogin));
        var laptop = await App.LoginAsync(email);
        var laptopAccess = laptop.GetProperty("accessToken").GetString();

        var list = await TestApp.Body(await App.GetAsync("/api/me/sessions", laptopAccess));

        Assert.Equal(2, list.GetArrayLength());
        var phoneSession = list.EnumerateArray().Single(s => !s.GetProperty("current").GetBoolean());
        Assert.Equal("PhoneApp/1.0", phoneSession.GetProperty("userAgent").GetString());
        Assert.Equal("203.0.113.9", phoneSession.GetProperty("ipAddress").GetString()); // the last hop, not what the client wrote
        var id = phoneSession.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await App.SendAsync(HttpMethod.Delete, $"/api/me/sessions/{id}", bearer: laptopAccess)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", phone.GetProperty("accessToken").GetString())).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", laptopAccess)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await App.SendAsync(HttpMethod.Delete, $"/api/me/sessions/{id}", bearer: laptopAccess)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await App.SendAsync(HttpMethod.Delete, "/api/me/sessions/not%2Fan%23id", bearer: laptopAccess)).StatusCode);
    }

    [Fact]
    public async Task ASessionOfAnotherAccountCannotBeEnded()
    {
        var mine = await App.LoginAsync(await App.SignupVerifiedAsync(TestApp.NewEmail()));
        var theirs = await App.LoginAsync(await App.SignupVerifiedAsync(TestApp.NewEmail()));
        var theirId = (await TestApp.Body(await App.GetAsync("/api/me/sessions", theirs.GetProperty("accessToken").GetString())))[0].GetProperty("id").GetString();

        var attempt = await App.SendAsync(HttpMethod.Delete, $"/api/me/sessions/{theirId}", bearer: mine.GetProperty("accessToken").GetString());

        Assert.Equal(HttpStatusCode.NotFound, attempt.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", theirs.GetProperty("accessToken").GetString())).StatusCode);
    }
}
