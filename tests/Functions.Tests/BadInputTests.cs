using System.Net;
using System.Text;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>Malformed requests get a 4xx problem+json, never a 500, and write nothing.</summary>
public sealed class BadInputTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    public static TheoryData<string> Endpoints => new()
    {
        "/api/signup", "/api/signup/email", "/api/signup/anonymous", "/api/email/verify", "/api/email/resend", "/api/login",
        "/api/token/refresh", "/api/logout", "/api/login/email", "/api/login/email/redeem",
        "/api/password/forgot", "/api/password/reset", "/api/email/revert",
    };

    public static readonly string[] Bodies =
    [
        "", "null", "[]", "\"text\"", "42", "{", "{\"email\":", "{\"email\":5,\"password\":true}", "{\"email\":[],\"code\":{}}",
        "{\"identifier\":{\"$ne\":null},\"password\":[\"x\"]}", "{\"token\":123}", "{\"refreshToken\":false}",
        "{\"email\":\"a@b.test\",\"email\":\"c@d.test\"}", "{\"rememberMe\":\"yes\",\"identifier\":\"a\",\"password\":\"b\"}",
        "{\"email\":\"\\ud800@example.test\",\"password\":\"correct horse battery staple\"}",
        "{\"email\":\"a/b\\\\c#d?e@example.test\",\"password\":\"correct horse battery staple\"}",
        "{\"email\":\"<script>@example.test\",\"password\":\"'; DROP TABLE accounts; --\"}",
    ];

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task MalformedBodiesGetA4xxProblem(string path)
    {
        foreach (var body in Bodies)
        {
            var response = await App.PostRawAsync(path, body);
            var status = (int)response.StatusCode;
            Assert.True(status is >= 400 and < 500 || (path == "/api/logout" && status == 204) || (path is "/api/email/resend" or "/api/login/email" or "/api/password/forgot" && status == 202)
                || (path == "/api/signup/anonymous" && status == 201), // extra fields are ignored: that body is valid there
                $"{path} with {body} answered {status}: {await response.Content.ReadAsStringAsync()}");
            if (status >= 400)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var text = await response.Content.ReadAsStringAsync();
                Assert.DoesNotContain("   at ", text);
                Assert.NotNull(await TestApp.Code(response));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task WrongContentTypeIs415AndHugeBodiesAre413(string path)
    {
        var form = await App.PostRawAsync(path, "email=a@b.test", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        Assert.Equal("unsupported_media_type", await TestApp.Code(form));

        // A client that announces its body with Expect: 100-continue hears the 413 before sending it;
        // without it the server answers 413 and closes the connection mid-upload.
        var huge = new StringContent("{\"email\":\"" + new string('a', 1024 * 1024) + "\"}", Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = huge };
        request.Headers.ExpectContinue = true;
        var big = await App.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Equal("payload_too_large", await TestApp.Code(big));
    }

    [Fact]
    public async Task ChunkedBodiesOverTheLimitAre413Too()
    {
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"email\":\"" + new string('b', 100_000) + "\"}")));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/signup") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await App.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task UnknownRoutesAndWrongMethodsUnderApiAreTheNotFoundProblem()
    {
        // The catch-all function (issue 22): a client can parse the answer. Outside /api/ the host's empty 404 stays.
        var missing = await App.Http.GetAsync("/api/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("not_found", await TestApp.Code(missing));

        var method = await App.Http.DeleteAsync("/api/signup");
        Assert.Equal(HttpStatusCode.NotFound, method.StatusCode);
        Assert.Equal("not_found", await TestApp.Code(method));

        var outside = await App.Http.GetAsync("/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
        Assert.Empty(await outside.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OverlongFieldsAreValidationErrorsAndCreateNoAccount()
    {
        var email = TestApp.NewEmail();
        var response = await App.PostAsync("/api/signup", new { email, password = TestApp.Password, firstName = new string('x', 101), comment = new string('y', 1001) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await TestApp.Body(response)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("firstName", out _));
        Assert.True(errors.TryGetProperty("comment", out _));
        await App.EmailsSettledAsync();
        Assert.Empty(App.Mail.To(email));
    }
}
