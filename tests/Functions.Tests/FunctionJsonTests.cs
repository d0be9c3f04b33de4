using System.Text.Json;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection;

namespace AccountFunctions.Functions.Tests;

/// <summary>The host's rules for host.json and function.json, checked against the app's real routes.</summary>
public sealed class FunctionJsonTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static readonly string FunctionsDir = Path.Combine(Repo.Root, "src", "Functions");

    private sealed record Function(string Name, JsonElement Bindings)
    {
        public JsonElement? Trigger => Bindings.EnumerateArray().Cast<JsonElement?>().FirstOrDefault(b => b!.Value.GetProperty("type").GetString()!.EndsWith("Trigger"));
        public bool IsHttp => Trigger?.GetProperty("type").GetString() == "httpTrigger";
        public string Route => Trigger!.Value.GetProperty("route").GetString()!;
        public string[] Methods => Trigger!.Value.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToArray();
    }

    private static List<Function> Functions() => Directory.GetDirectories(FunctionsDir)
        .Where(d => File.Exists(Path.Combine(d, "function.json")))
        .Select(d => new Function(Path.GetFileName(d), JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "function.json"))).RootElement.GetProperty("bindings").Clone()))
        .ToList();

    private static JsonElement Host() => JsonDocument.Parse(File.ReadAllText(Path.Combine(FunctionsDir, "host.json"))).RootElement.Clone();

    private List<(string Path, string Method)> MappedRoutes()
    {
        var sources = fixture.App.Services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        return sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (Sample(e.RoutePattern), m)))
            .ToList();
    }

    // A concrete path for a route pattern: each parameter replaced by a sample value.
    private static string Sample(RoutePattern pattern) => "/" + string.Join('/', pattern.PathSegments.Select(s =>
        string.Concat(s.Parts.Select(p => p switch
        {
            RoutePatternLiteralPart l => l.Content,
            RoutePatternParameterPart => "x1",
            RoutePatternSeparatorPart sep => sep.Content,
            _ => "",
        }))));

    private static bool Matches(Function f, string path)
    {
        var matcher = new TemplateMatcher(TemplateParser.Parse(f.Route), new RouteValueDictionary());
        return matcher.TryMatch(path, new RouteValueDictionary());
    }

    [Fact]
    public void HostJsonForwardsHttpAndConfiguresTheQueueAsTheContractSays()
    {
        var host = Host();
        Assert.Equal("2.0", host.GetProperty("version").GetString());
        var handler = host.GetProperty("customHandler");
        Assert.True(handler.GetProperty("enableForwardingHttpRequest").GetBoolean());
        Assert.Equal("AccountFunctions", handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.StartsWith("[4.", host.GetProperty("extensionBundle").GetProperty("version").GetString());
        Assert.Equal("", host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        var queues = host.GetProperty("extensions").GetProperty("queues");
        Assert.Equal(5, queues.GetProperty("maxDequeueCount").GetInt32());
        Assert.Equal("base64", queues.GetProperty("messageEncoding").GetString());
    }

    [Fact]
    public void HttpFunctionsArePureHttpInAndOutSoForwardingIsAllowed()
    {
        foreach (var f in Functions().Where(f => f.IsHttp))
        {
            var types = f.Bindings.EnumerateArray().Select(b => b.GetProperty("type").GetString()).OrderBy(t => t).ToArray();
            Assert.True(types.SequenceEqual(["http", "httpTrigger"]), $"{f.Name} has bindings {string.Join(",", types)}");
            var route = f.Route.TrimStart('/');
            Assert.False(route.StartsWith("admin", StringComparison.OrdinalIgnoreCase) || route.StartsWith("runtime", StringComparison.OrdinalIgnoreCase),
                $"{f.Name}'s route {route} is reserved by the host");
            Assert.True(route.StartsWith("api/") || route.StartsWith("account/"), $"{f.Name}'s route {route} is outside /api and /account");
        }
    }

    [Fact]
    public void QueueAndTimerFunctionsAreWiredAsTheContractSays()
    {
        var functions = Functions().ToDictionary(f => f.Name);
        var send = functions["SendEmail"].Trigger!.Value;
        Assert.Equal("queueTrigger", send.GetProperty("type").GetString());
        Assert.Equal("email-outbox", send.GetProperty("queueName").GetString());
        Assert.Equal("AzureWebJobsStorage", send.GetProperty("connection").GetString());
        Assert.Equal("message", send.GetProperty("name").GetString());
        var sweep = functions["LockoutSweep"].Trigger!.Value;
        Assert.Equal("timerTrigger", sweep.GetProperty("type").GetString());
        Assert.Equal("0 */5 * * * *", sweep.GetProperty("schedule").GetString());
    }

    [Fact]
    public void EveryMappedHttpRouteIsCoveredByAFunctionWithItsMethod()
    {
        var http = Functions().Where(f => f.IsHttp).ToList();
        var triggers = Functions().Where(f => !f.IsHttp).Select(f => "/" + f.Name).ToHashSet();
        foreach (var (path, method) in MappedRoutes())
        {
            if (path == "/" || triggers.Contains(path)) continue; // the host's own calls
            Assert.True(http.Any(f => Matches(f, path) && f.Methods.Contains(method)), $"{method} {path} is not reachable through any function.json");
        }
    }

    [Fact]
    public void EveryFunctionReachesAHandler()
    {
        var routes = MappedRoutes();
        foreach (var f in Functions())
        {
            if (f.IsHttp)
                Assert.True(routes.Any(r => Matches(f, r.Path) && f.Methods.Contains(r.Method)), $"{f.Name} ({f.Route}) reaches no handler");
            else
                Assert.Contains(("/" + f.Name, "POST"), routes);
        }
    }

    [Fact]
    public void AMatchedRouteIsNotClaimedByTwoFunctions()
    {
        var http = Functions().Where(f => f.IsHttp).ToList();
        foreach (var (path, method) in MappedRoutes().Where(r => r.Path.StartsWith("/api/") || r.Path.StartsWith("/account/")))
            Assert.True(http.Count(f => Matches(f, path) && f.Methods.Contains(method)) <= 1, $"{method} {path} is claimed twice");
    }
}
