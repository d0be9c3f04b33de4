using System.Net;
using System.Text;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>
/// Issue 23.9: preferences are echoed inside every Account (GET /api/me, sessions, the admin
/// list and item), so what is accepted must fit every one of those answers, and what is stored
/// already must not fail them.
/// </summary>
public sealed class PreferencesLimitTests(AdminFixture fixture) : IClassFixture<AdminFixture>
{
    private TestApp App => fixture.App;

    /// <summary>An object nested <paramref name="depth"/> levels deep, the outermost counted: {"a":{"a":...{"a":1}}}.</summary>
    private static string Nested(int depth) => new StringBuilder().Insert(0, "{\"a\":", depth).Append('1').Append('}', depth).ToString();

    private async Task<(string Email, string Access, string Id)> ActiveUserAsync()
    {
        var email = TestApp.NewEmail("prefs");
        await App.SignupVerifiedAsync(email);
        var session = await App.LoginAsync(email);
        return (email, session.GetProperty("accessToken").GetString()!, session.GetProperty("account").GetProperty("id").GetString()!);
    }

    private async Task<HttpResponseMessage> PatchRawAsync(string access, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, "/api/me") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", access);
        return await App.Http.SendAsync(request);
    }

    /// <summary>Every answer that carries the account: its own, a sign-in, the admin's item and every list page holding it.</summary>
    private async Task<JsonElement[]> EveryAnswerCarryingAsync(string email, string access, string id)
    {
        var me = await App.GetAsync("/api/me", access);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        var login = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var one = await App.GetAsync($"/api/manage/users/{id}", fixture.AdminToken);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var list = await App.GetAsync($"/api/manage/users?q={Uri.EscapeDataString(email)}", fixture.AdminToken);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var item = Assert.Single((await TestApp.Body(list)).GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == id);
        var all = await App.GetAsync("/api/manage/users?limit=100", fixture.AdminToken);
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        return [(await TestApp.Body(me)).GetProperty("profile"), (await TestApp.Body(login)).GetProperty("account").GetProperty("profile"),
            (await TestApp.Body(one)).GetProperty("profile"), item.GetProperty("profile")];
    }

    [Theory]
    [InlineData(9)]
    [InlineData(29)]
    [InlineData(30)]
    [InlineData(31)]
    [InlineData(40)] // past the body reader's own limit
    [InlineData(200)]
    public async Task PreferencesNestedDeeperThanEightLevelsAreRefusedAndNothingIsWritten(int depth)
    {
        var (email, access, id) = await ActiveUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await PatchRawAsync(access, """{"preferences":{"theme":"dark"}}""")).StatusCode);

        var refused = await PatchRawAsync(access, $$"""{"preferences":{{Nested(depth)}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await TestApp.Body(refused);
        Assert.Equal("validation_failed", problem.GetProperty("code").GetString());
        Assert.Equal("preferences", problem.GetProperty("errors").EnumerateObject().Single().Name);
        foreach (var profile in await EveryAnswerCarryingAsync(email, access, id))
            Assert.Equal("dark", profile.GetProperty("preferences").GetProperty("theme").GetString());
    }

    [Fact]
    public async Task PreferencesEightLevelsDeepAreKeptAndEveryAnswerCarriesThem()
    {
        var (email, access, id) = await ActiveUserAsync();
        var eight = Nested(8);

        var patched = await PatchRawAsync(access, $$"""{"preferences":{{eight}}}""");

        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        foreach (var profile in await EveryAnswerCarryingAsync(email, access, id))
            Assert.Equal(eight, profile.GetProperty("preferences").GetRawText());
    }

    [Fact]
    public async Task ArraysCountAsLevelsToo()
    {
        var (_, access, _) = await ActiveUserAsync();
        var refused = await PatchRawAsync(access, """{"preferences":{"a":[[[[[[[[1]]]]]]]]}}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.True((await TestApp.Body(refused)).GetProperty("errors").TryGetProperty("preferences", out _));
        Assert.Equal(HttpStatusCode.OK, (await PatchRawAsync(access, """{"preferences":{"a":[[[[[[1]]]]]]}}""")).StatusCode);
    }

    [Fact]
    public async Task PreferencesOverFourKilobytesAreRefused()
    {
        var (_, access, _) = await ActiveUserAsync();
        var refused = await PatchRawAsync(access, "{\"preferences\":{\"a\":\"" + new string('x', 4096) + "\"}}");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.True((await TestApp.Body(refused)).GetProperty("errors").TryGetProperty("preferences", out _));
    }

    [Theory]
    [InlineData(30)]
    [InlineData(40)]
    [InlineData(100)]
    public async Task DeepPreferencesAlreadyStoredAreLeftOutAndFailNoAnswer(int depth)
    {
        var (email, access, id) = await ActiveUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Patch, "/api/me", new { firstName = "Deep" }, access)).StatusCode);
        // Written straight into the row, as a version before this limit could have.
        var account = (await App.Storage.Accounts.GetEntityAsync<Account>(id, Account.Row)).Value;
        account.PreferencesJson = Nested(depth);
        await App.Storage.Accounts.UpdateEntityAsync(account, account.ETag);

        foreach (var profile in await EveryAnswerCarryingAsync(email, access, id))
            Assert.Equal(JsonValueKind.Null, profile.GetProperty("preferences").ValueKind);
        var patched = await App.SendAsync(HttpMethod.Patch, "/api/me", new { lastName = "Still" }, access);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal("Deep", (await TestApp.Body(patched)).GetProperty("firstName").GetString());
    }
}
