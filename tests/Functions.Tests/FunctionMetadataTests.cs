using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// The function app as the host sees it: the functions the worker declared (loaded by the local
/// host), the build output's functions.metadata and host.json, against the contract's routes.
/// </summary>
public sealed partial class FunctionMetadataTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    // Contract routes of issues not built yet: passkeys (issue 24), the admin console and the
    // personal-data export (issue 28). Each leaves this list when its issue lands.
    private static readonly string[] NotBuiltYet = ["/api/me/passkeys", "/api/login/passkey",
        "/api/manage/users/{id}/sessions", "/api/manage/users/{id}/mfa", "/api/me/export"];

    [GeneratedRegex(@"^\| `(GET|POST|PATCH|DELETE|PUT) (/[^`?\s]+)")]
    private static partial Regex ContractRoute();

    /// <summary>Every route in the contract's tables: method and path, query strings dropped.</summary>
    private static List<(string Method, string Path)> ContractRoutes()
    {
        var contract = Path.Combine(Repo.Root, "..", "shared", "api-contract.md");
        return File.ReadLines(contract).Select(l => ContractRoute().Match(l)).Where(m => m.Success)
            .Select(m => (m.Groups[1].Value, m.Groups[2].Value))
            .Where(r => !NotBuiltYet.Any(p => r.Item2.StartsWith(p, StringComparison.Ordinal)))
            .ToList();
    }

    private static bool Matches(HttpFunction f, string path) =>
        new TemplateMatcher(TemplateParser.Parse(f.Route), new RouteValueDictionary()).TryMatch(path, new RouteValueDictionary());

    /// <summary>The catch-all that answers the 404 problem for everything else under /api/.</summary>
    private const string UnknownApiRoute = Operations.UnknownRouteFunction.Name;

    private static string Sample(string contractPath) => Regex.Replace(contractPath, @"\{[^}]+\}", "x1");

    [Fact]
    public void EveryContractRouteIsServedByOneFunctionWithItsMethodAndAuthorizationLevel()
    {
        var routes = ContractRoutes();
        Assert.True(routes.Count > 30, $"only {routes.Count} routes read from the contract");
        foreach (var (method, path) in routes)
        {
            var serving = App.HttpFunctions.Where(f => f.Name != UnknownApiRoute && f.Methods.Contains(method) && Matches(f, Sample(path))).ToList();
            var function = Assert.Single(serving);
            var expected = path.StartsWith("/api/manage/", StringComparison.Ordinal) ? "function" : "anonymous";
            Assert.True(expected == function.AuthLevel, $"{method} {path}: {function.Name} has authLevel {function.AuthLevel}, not {expected}");
        }
    }

    [Fact]
    public void NoRouteIsReservedByTheHostOrOutsideApiAndAccount()
    {
        Assert.NotEmpty(App.HttpFunctions);
        foreach (var f in App.HttpFunctions)
        {
            Assert.False(f.Route.StartsWith("admin", StringComparison.OrdinalIgnoreCase) || f.Route.StartsWith("runtime", StringComparison.OrdinalIgnoreCase),
                $"{f.Name}'s route {f.Route} is reserved by the host");
            Assert.True(f.Route.StartsWith("api/") || f.Route.StartsWith("account/"), $"{f.Name}'s route {f.Route} is outside /api and /account");
            Assert.NotEmpty(f.Methods);
        }
    }

    [Fact]
    public void TheBuildOutputDeclaresTheQueueAndTimerTriggers()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestApp.AppDirectory, "functions.metadata")));
        var functions = doc.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("bindings").Clone());
        JsonElement Trigger(string name) => functions[name].EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger"));

        var send = Trigger("SendEmail");
        Assert.Equal("queueTrigger", send.GetProperty("type").GetString());
        Assert.Equal("%EmailOutboxQueue%", send.GetProperty("queueName").GetString());
        Assert.False(send.TryGetProperty("connection", out var connection) && connection.GetString() is { Length: > 0 } c && c != "AzureWebJobsStorage");
        var sweep = Trigger("LockoutSweep");
        Assert.Equal("timerTrigger", sweep.GetProperty("type").GetString());
        Assert.Equal("%LockoutSweepSchedule%", sweep.GetProperty("schedule").GetString());
        Assert.True(functions.Values.Count(b => b.EnumerateArray().Any(x => x.GetProperty("type").GetString() == "httpTrigger")) > 40);

        // The settings those expressions need, as shipped for local runs (infra/main.bicep sets the same).
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values");
        Assert.Equal("dotnet-isolated", values.GetProperty("FUNCTIONS_WORKER_RUNTIME").GetString());
        Assert.Equal("email-outbox", values.GetProperty("EmailOutboxQueue").GetString());
        Assert.Equal("0 */5 * * * *", values.GetProperty("LockoutSweepSchedule").GetString());
        var bicep = File.ReadAllText(Path.Combine(Repo.Root, "infra", "main.bicep"));
        Assert.Contains("EmailOutboxQueue", bicep);
        Assert.Contains("LockoutSweepSchedule", bicep);
    }

    [Fact]
    public void HostJsonConfiguresTheQueueAndNoCustomHandler()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "src", "Functions", "host.json")));
        var host = doc.RootElement;
        Assert.Equal("2.0", host.GetProperty("version").GetString());
        Assert.False(host.TryGetProperty("customHandler", out _));
        Assert.False(host.TryGetProperty("extensionBundle", out _)); // the isolated worker brings its extensions
        Assert.Equal("", host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        var queues = host.GetProperty("extensions").GetProperty("queues");
        Assert.Equal(5, queues.GetProperty("maxDequeueCount").GetInt32());
        Assert.Equal("base64", queues.GetProperty("messageEncoding").GetString());
        Assert.True(TimeSpan.Parse(queues.GetProperty("visibilityTimeout").GetString()!) > TimeSpan.Zero);
        var functionJson = Directory.GetFiles(Path.Combine(Repo.Root, "src", "Functions"), "function.json", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));
        Assert.Empty(functionJson.ToList()); // no custom handler left
    }

    [Theory]
    [InlineData("GET", "/api/nothing-here")]
    [InlineData("POST", "/api/signup/nothing/deeper")]
    [InlineData("GET", "/api/login")] // a known path, a method its function does not take
    [InlineData("PUT", "/api/me")]
    [InlineData("GET", "/api/manage/nothing")] // no key asked: nothing is there
    public async Task AnUnknownApiRouteOrMethodAnswersTheNotFoundProblem(string method, string path)
    {
        var response = await App.SendAsync(new HttpMethod(method), path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("not_found", await TestApp.Code(response));
    }

    [Fact]
    public void TheCatchAllComesLastInTheOrderAzuresHostTriesRoutes()
    {
        // Azure's host maps the routes in function-name order (OrdinalIgnoreCase) and the first match wins.
        var catchAll = Assert.Single(App.HttpFunctions, f => f.Name == UnknownApiRoute);
        Assert.Equal("api/{*rest}", catchAll.Route);
        Assert.Equal(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], catchAll.Methods);
        Assert.Equal("anonymous", catchAll.AuthLevel);
        var inHostOrder = App.HttpFunctions.Select(f => f.Name).Order(StringComparer.OrdinalIgnoreCase).ToList();
        Assert.Equal(UnknownApiRoute, inHostOrder[^1]);
    }

    [Fact]
    public async Task EveryOtherRouteWinsOverTheCatchAll()
    {
        // Literal, parameter and catch-all routes of other functions, each answered by its own function.
        Assert.Equal(HttpStatusCode.OK, (await App.Http.GetAsync("/api/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await App.Http.GetAsync("/api/.well-known/jwks.json")).StatusCode);
        Assert.Equal("unauthorized", await TestApp.Code(await App.Http.GetAsync("/api/me")));
        Assert.Equal("unauthorized", await TestApp.Code(await App.SendAsync(HttpMethod.Delete, "/api/me/sessions/x1")));
        Assert.Equal("text/html", (await App.Http.GetAsync("/account/login")).Content.Headers.ContentType?.MediaType);
        var unauthorized = await App.PostAsync("/api/login", new { identifier = TestApp.NewEmail(), password = "wrong-password" });
        Assert.Equal("invalid_credentials", await TestApp.Code(unauthorized));

        // The host checks the admin API's key before routing to the app: a key-less manage route stays the host's 401.
        using var noKey = new HttpClient { BaseAddress = App.Http.BaseAddress };
        var manage = await noKey.GetAsync("/api/manage/users");
        Assert.Equal(HttpStatusCode.Unauthorized, manage.StatusCode);
        Assert.Empty(await manage.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheAdminApiNeedsAFunctionKeyBeforeTheAppSeesTheRequest()
    {
        using var noKey = new HttpRequestMessage(HttpMethod.Get, "/api/manage/users");
        noKey.Headers.Add("x-functions-key", "wrong");
        var refused = await App.Http.SendAsync(noKey);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Null(refused.Headers.WwwAuthenticate.FirstOrDefault()); // the host's 401, not the app's Bearer challenge

        using var withKey = new HttpRequestMessage(HttpMethod.Get, "/api/manage/users?code=" + App.FunctionKey);
        withKey.Headers.Remove("x-functions-key");
        var unauthenticated = await new HttpClient { BaseAddress = App.Http.BaseAddress }.SendAsync(withKey);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Equal("unauthorized", await TestApp.Code(unauthenticated)); // now the app's: no bearer token
    }
}
