using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AccountFunctions.LocalHost.Tests.Support;

namespace AccountFunctions.LocalHost.Tests;

public sealed class HttpTests(SharedHost fixture) : IClassFixture<SharedHost>
{
    private HttpClient Http => fixture.Sample.Http;
    private LocalFunctionsHost Host => fixture.Sample.Host;

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path, Action<HttpRequestMessage>? change = null, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        change?.Invoke(request);
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/api/hello", 200, "hello")]
    [InlineData("/API/Hello", 200, "hello")]           // case-insensitive
    [InlineData("/hello", 404, "")]                    // the prefix is required
    [InlineData("/api/items/7", 200, "item 7")]        // {id:int}
    [InlineData("/api/items/abc", 200, "name abc")]    // the int constraint fails: {name}
    [InlineData("/api/items/new", 200, "literal new")] // a literal wins over parameters
    [InlineData("/api/opt", 200, "opt (none)")]        // optional parameter absent
    [InlineData("/api/opt/zz", 200, "opt zz")]
    [InlineData("/api/files", 200, "rest ")]           // catch-all, empty (the worker routes it: an empty value)
    [InlineData("/api/files/a/b/c.txt", 200, "rest a/b/c.txt")]
    [InlineData("/api/noroute", 200, "noroute GET")]   // no route: the function name
    [InlineData("/api/nothing/here", 404, "")]
    [InlineData("/api/items/1/2", 404, "")]
    [InlineData("/", 404, "")]
    public async Task ARequestReachesTheMostSpecificRouteCaseInsensitivelyOrGetsAnEmpty404(string path, int status, string body)
    {
        var (s, b) = await GetAsync(path);
        Assert.Equal((HttpStatusCode)status, s);
        Assert.Equal(body, b);
    }

    [Fact]
    public async Task AMethodTheFunctionDoesNotTakeIsA404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/api/postonly")).Status);
        var (s, b) = await GetAsync("/api/postonly", r => r.Content = new StringContent("x"), HttpMethod.Post);
        Assert.Equal(HttpStatusCode.OK, s);
        Assert.Equal("posted POST", b);
        Assert.Equal("posted PUT", (await GetAsync("/api/postonly", r => r.Content = new StringContent("x"), HttpMethod.Put)).Body);
        // No methods declared: every method.
        Assert.Equal("noroute DELETE", (await GetAsync("/api/NoRoute", null, HttpMethod.Delete)).Body);
        Assert.Equal("noroute PATCH", (await GetAsync("/api/NoRoute", null, HttpMethod.Patch)).Body);
    }

    [Fact]
    public async Task AFunctionKeyIsTakenFromTheHeaderOrTheQueryAndTheMasterKeyToo()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("/api/keyed")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("/api/keyed", r => r.Headers.Add("x-functions-key", "wrong"))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("/api/keyed?code=wrong")).Status);
        Assert.Equal((HttpStatusCode.OK, "keyed"), await GetAsync("/api/keyed", r => r.Headers.Add("x-functions-key", Host.FunctionKey)));
        Assert.Equal((HttpStatusCode.OK, "keyed"), await GetAsync("/api/keyed?code=" + Uri.EscapeDataString(Host.FunctionKey)));
        Assert.Equal((HttpStatusCode.OK, "keyed"), await GetAsync("/api/keyed", r => r.Headers.Add("x-functions-key", Host.MasterKey)));
    }

    [Fact]
    public async Task AdminLevelTakesOnlyTheMasterKeyAndItsRefusalIsAnEmpty401()
    {
        using var response = await Http.GetAsync("/api/manage/adminonly?code=" + Uri.EscapeDataString(Host.FunctionKey));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
        Assert.Empty(response.Headers.WwwAuthenticate);
        Assert.Equal((HttpStatusCode.OK, "admin"), await GetAsync("/api/manage/adminonly", r => r.Headers.Add("x-functions-key", Host.MasterKey)));
    }

    [Fact]
    public async Task BodyHeadersQueryAndRouteValuesReachTheFunction()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/echo/one/two?x=1&y=hello%20world")
        {
            Content = new StringContent("{\"hi\":1}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Custom", "custom-value");
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("POST", echo.GetProperty("method").GetString());
        Assert.Equal("/api/echo/one/two", echo.GetProperty("path").GetString());
        Assert.Equal("1", echo.GetProperty("query").GetProperty("x").GetString());
        Assert.Equal("hello world", echo.GetProperty("query").GetProperty("y").GetString());
        Assert.Equal("custom-value", echo.GetProperty("headers").GetProperty("x-custom").GetString());
        Assert.Equal("one", echo.GetProperty("route").GetProperty("a").GetString());
        Assert.Equal("two", echo.GetProperty("route").GetProperty("b").GetString());
        Assert.Equal("{\"hi\":1}", echo.GetProperty("bodyText").GetString());
        // Trigger metadata as Azure sends it: route values, Query, Headers.
        var data = echo.GetProperty("bindingData");
        Assert.Equal("one", data.GetProperty("a").GetString());
        Assert.Contains("hello world", data.GetProperty("Query").GetString());
        Assert.Contains("custom-value", data.GetProperty("Headers").GetString());
        Assert.Equal("from-options", echo.GetProperty("setting").GetString());
        // The worker paired the forwarded request with the invocation by x-ms-invocation-id.
        Assert.Equal(echo.GetProperty("invocationId").GetString(), echo.GetProperty("headers").GetProperty("x-ms-invocation-id").GetString());
    }

    [Fact]
    public async Task TheClientAddressIsTheTcpPeerUnlessXForwardedForIsGiven()
    {
        var plain = JsonDocument.Parse((await GetAsync("/api/echo/a")).Body).RootElement;
        Assert.Equal("127.0.0.1", plain.GetProperty("remoteIp").GetString());

        var forwarded = JsonDocument.Parse((await GetAsync("/api/echo/a", r => r.Headers.Add("X-Forwarded-For", "203.0.113.9"))).Body).RootElement;
        Assert.Equal("203.0.113.9", forwarded.GetProperty("remoteIp").GetString());
    }

    [Fact]
    public async Task StatusAndHeadersOfTheFunctionComeBack()
    {
        using var response = await Http.GetAsync("/api/status/418");
        Assert.Equal((HttpStatusCode)418, response.StatusCode);
        Assert.Equal("yes", response.Headers.GetValues("X-Sample").Single());
        Assert.Equal("status 418", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ALargeRequestBodyStreamsThrough()
    {
        var body = RandomNumberGenerator.GetBytes(1024 * 1024 + 17);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await Http.PostAsync("/api/echo/big", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(body.Length, echo.GetProperty("bodyLength").GetInt32());
        Assert.Equal(Convert.ToHexString(SHA256.HashData(body)), echo.GetProperty("bodySha256").GetString());
    }

    [Fact]
    public async Task ALargeResponseBodyComesBackWhole()
    {
        using var response = await Http.GetAsync("/api/big?size=1048576");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(1048576, bytes.Length);
        Assert.Equal((byte)'a', bytes[0]);
        Assert.Equal((byte)('a' + 1048575 % 26), bytes[^1]);
    }

    [Fact]
    public async Task AFunctionThatThrowsAnswersAnEmpty500()
    {
        using var response = await Http.GetAsync("/api/throws");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
        // And the host still serves.
        Assert.Equal((HttpStatusCode.OK, "hello"), await GetAsync("/api/hello"));
    }

    [Fact]
    public async Task ParallelRequestsArePairedWithTheirOwnInvocations()
    {
        var tasks = Enumerable.Range(0, 40).Select(async i =>
        {
            var (s, b) = await GetAsync($"/api/items/{i}");
            Assert.Equal(HttpStatusCode.OK, s);
            Assert.Equal($"item {i}", b);
        });
        await Task.WhenAll(tasks);
    }
}
