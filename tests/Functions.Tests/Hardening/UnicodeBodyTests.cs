using System.Net;
using System.Text;
using AccountFunctions.Core;
using AccountFunctions.Core.Text;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>One bootstrap admin (no approval mode), signed in once for the class.</summary>
/// <summary>An app with one bootstrap admin, signed up, verified and signed in.</summary>
public class AdminFixture : AppFixture, IAsyncLifetime
{
    public string AdminEmail { get; } = TestApp.NewEmail("admin");
    public string AdminToken { get; private set; } = "";
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Accounts:BootstrapAdmins"] = AdminEmail };

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await App.SignupVerifiedAsync(AdminEmail);
        AdminToken = (await App.LoginAsync(AdminEmail)).GetProperty("accessToken").GetString()!;
    }
}

/// <summary>Issue 15.1: a lone surrogate anywhere in a body is a 400, and a stored one cannot fail a response.</summary>
public sealed class UnicodeBodyTests(AdminFixture fixture) : IClassFixture<AdminFixture>
{
    private TestApp App => fixture.App;

    private async Task<(string Access, string Id)> ActiveUserAsync()
    {
        var email = TestApp.NewEmail("unicode");
        await App.SignupVerifiedAsync(email);
        var session = await App.LoginAsync(email, TestApp.Password);
        return (session.GetProperty("accessToken").GetString()!, session.GetProperty("account").GetProperty("id").GetString()!);
    }

    private async Task<HttpResponseMessage> PatchRawAsync(string access, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, "/api/me") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", access);
        return await App.Http.SendAsync(request);
    }

    [Theory]
    [InlineData("""{"preferences":{"a":"\ud800"}}""", "preferences.a")]
    [InlineData("""{"preferences":{"a":{"b":["ok","\udc00"]}}}""", "preferences.a.b[1]")]
    [InlineData("""{"preferences":{"\ud800":1}}""", "preferences")]
    [InlineData("""{"preferences":{"a":"x\ud83dy"}}""", "preferences.a")]
    [InlineData("""{"bio":"fine","unknownField":"\ud800"}""", "unknownField")]
    public async Task ALoneSurrogateAnywhereInTheBodyIsRefusedAndNothingIsWritten(string body, string field)
    {
        var (access, _) = await ActiveUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Patch, "/api/me", new { preferences = new { theme = "dark" } }, access)).StatusCode);

        var refused = await PatchRawAsync(access, body);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await TestApp.Body(refused);
        Assert.Equal("validation_failed", problem.GetProperty("code").GetString());
        Assert.StartsWith(field, problem.GetProperty("errors").EnumerateObject().Single().Name);
        var me = await App.GetAsync("/api/me", access);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal("dark", (await TestApp.Body(me)).GetProperty("profile").GetProperty("preferences").GetProperty("theme").GetString());
    }

    [Fact]
    public async Task AValidSurrogatePairIsAcceptedAndComesBackTheSame()
    {
        var (access, _) = await ActiveUserAsync();
        var ok = await PatchRawAsync(access, """{"preferences":{"emoji":"\ud83d\ude00","list":["\u00e9"]}}""");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("\U0001F600", (await TestApp.Body(ok)).GetProperty("profile").GetProperty("preferences").GetProperty("emoji").GetString());
    }

    [Fact]
    public async Task ALoneSurrogateInASignupOrLoginBodyIsABadRequestNotA500()
    {
        var signup = await App.PostRawAsync("/api/signup", """{"email":"a@example.test","password":"correct horse \ud800 staple"}""");
        Assert.Equal(HttpStatusCode.BadRequest, signup.StatusCode);
        var login = await App.PostRawAsync("/api/login", """{"identifier":"\udfff","password":"x"}""");
        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        Assert.Equal("validation_failed", await TestApp.Code(login));
    }

    [Fact]
    public async Task BadValuesAlreadyStoredDoNotFailMeLoginRefreshOrTheAdminList()
    {
        var email = TestApp.NewEmail("stored");
        await App.SignupVerifiedAsync(email);
        var id = (await App.LoginAsync(email)).GetProperty("account").GetProperty("id").GetString()!;
        // Written straight into the row, as an older version or a tool could have.
        var account = (await App.Storage.Accounts.GetEntityAsync<Account>(id, Account.Row)).Value;
        account.PreferencesJson = """{"a":"\ud800","b":["\udc00x"],"\ud800k":{"c":1.5e3}}""";
        account.FirstName = "Bad\ud800Name";
        account.Comment = "note \udc00";
        await App.Storage.Accounts.UpdateEntityAsync(account, account.ETag);

        var session = await App.LoginAsync(email);
        var access = session.GetProperty("accessToken").GetString()!;
        Assert.Equal("Bad\uFFFDName", session.GetProperty("account").GetProperty("firstName").GetString());
        var me = await App.GetAsync("/api/me", access);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        var prefs = (await TestApp.Body(me)).GetProperty("profile").GetProperty("preferences");
        Assert.Equal("\uFFFD", prefs.GetProperty("a").GetString());
        Assert.Equal("\uFFFDx", prefs.GetProperty("b")[0].GetString());
        Assert.Equal(1500, prefs.GetProperty("\uFFFDk").GetProperty("c").GetDouble());
        var refreshed = await App.PostAsync("/api/token/refresh", new { refreshToken = session.GetProperty("refreshToken").GetString() });
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);

        var list = await App.GetAsync("/api/manage/users", fixture.AdminToken);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Contains((await TestApp.Body(list)).GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == id);
        var one = await App.GetAsync($"/api/manage/users/{id}", fixture.AdminToken);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal("note \uFFFD", (await TestApp.Body(one)).GetProperty("comment").GetString());
    }

    [Fact]
    public void ScrubbingLeavesCleanJsonAsItIsAndRepairsOnlyLoneSurrogates()
    {
        const string clean = """{"a":"x\"y\\z\n","b":[1,true,null],"c":"\ud83d\ude00"}""";
        Assert.Same(clean, UnicodeText.ScrubJson(clean));
        using var repaired = System.Text.Json.JsonDocument.Parse(UnicodeText.ScrubJson("""{"k":"\\ud800","v":"\ud800"}""")!);
        Assert.Equal(@"\ud800", repaired.RootElement.GetProperty("k").GetString()); // an escaped backslash: text, kept
        Assert.Equal("\uFFFD", repaired.RootElement.GetProperty("v").GetString());
        Assert.Null(UnicodeText.ScrubJson("{not json"));
    }
}
