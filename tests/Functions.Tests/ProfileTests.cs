using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

public sealed class ProfileTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    private async Task<string> SignedInAsync() =>
        (await App.LoginAsync(await App.SignupVerifiedAsync(TestApp.NewEmail("profile")))).GetProperty("accessToken").GetString()!;

    private Task<HttpResponseMessage> PatchAsync(string access, object body) => App.SendAsync(HttpMethod.Patch, "/api/me", body, access);

    [Fact]
    public async Task PatchChangesOnlyTheFieldsSentAndNullClears()
    {
        var access = await SignedInAsync();
        var first = await PatchAsync(access, new
        {
            firstName = " Ada ", lastName = "Lovelace", bio = "Line one\nLine two", location = "London",
            avatarUrl = "https://images.example.test/ada.png", preferences = new { theme = "dark", digest = false },
        });
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        var second = await TestApp.Body(await PatchAsync(access, new Dictionary<string, object?> { ["location"] = null }));

        Assert.Equal("Ada", second.GetProperty("firstName").GetString());
        Assert.Equal("Lovelace", second.GetProperty("lastName").GetString());
        var profile = second.GetProperty("profile");
        Assert.Equal("Line one\nLine two", profile.GetProperty("bio").GetString());
        Assert.Equal(JsonValueKind.Null, profile.GetProperty("location").ValueKind);
        Assert.Equal("https://images.example.test/ada.png", profile.GetProperty("avatarUrl").GetString());
        Assert.Equal("dark", profile.GetProperty("preferences").GetProperty("theme").GetString());
        var me = await TestApp.Body(await App.GetAsync("/api/me", access));
        Assert.Equal("Ada", me.GetProperty("firstName").GetString());
    }

    public static TheoryData<string, string> Invalid => new()
    {
        { """{"avatarUrl":"http://insecure.example.test/a.png"}""", "avatarUrl" },
        { """{"avatarUrl":"javascript:alert(1)"}""", "avatarUrl" },
        { """{"avatarUrl":"/relative.png"}""", "avatarUrl" },
        { """{"avatarUrl":"https://user:pw@example.test/a.png"}""", "avatarUrl" },
        { """{"firstName":5}""", "firstName" },
        { """{"firstName":"a\u0000b"}""", "firstName" },
        { """{"location":"line\nbreak"}""", "location" },
        { """{"preferences":[1,2]}""", "preferences" },
        { """{"preferences":"dark"}""", "preferences" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task InvalidProfileFieldsAreValidationErrorsAndChangeNothing(string body, string field)
    {
        var access = await SignedInAsync();
        await PatchAsync(access, new { firstName = "Before" });
        using var request = new HttpRequestMessage(HttpMethod.Patch, "/api/me") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", access);

        var response = await App.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await TestApp.Body(response)).GetProperty("errors").TryGetProperty(field, out _));
        Assert.Equal("Before", (await TestApp.Body(await App.GetAsync("/api/me", access))).GetProperty("firstName").GetString());
    }

    [Fact]
    public async Task OverlongFieldsAndHugePreferencesAreRefused()
    {
        var access = await SignedInAsync();
        var response = await PatchAsync(access, new
        {
            bio = new string('b', 1001), location = new string('l', 201), lastName = new string('n', 101),
            preferences = new { blob = new string('p', 5000) },
        });
        var errors = (await TestApp.Body(response)).GetProperty("errors");
        foreach (var f in new[] { "bio", "location", "lastName", "preferences" }) Assert.True(errors.TryGetProperty(f, out _), f);
    }

    [Fact]
    public async Task PatchNeedsASignedInCaller()
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, "/api/me") { Content = JsonContent.Create(new { firstName = "x" }) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.Http.SendAsync(request)).StatusCode);
    }
}
