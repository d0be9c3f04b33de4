using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccountFunctions.Core.Signup;
using AccountFunctions.Functions.Tests.Support;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AccountFunctions.Functions.Tests;

public sealed class SweepFixture : AppFixture
{
    public string AdminEmail { get; } = TestApp.NewEmail("sweep-admin");
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Accounts:BootstrapAdmins"] = AdminEmail };
}

/// <summary>
/// Every endpoint the app maps (read from its EndpointDataSource, so a new one is swept without
/// editing this file) gets generated malformed requests, authenticated as an admin so bodies are
/// reached. No answer may be a 5xx; every 4xx is problem+json with a code; no body carries a stack
/// trace; refused requests write nothing. BadInputTests holds the hand-written cases.
/// </summary>
public sealed class BadInputSweepTests(SweepFixture fixture) : IClassFixture<SweepFixture>
{
    private TestApp App => fixture.App;
    private const string LoneSurrogate = "__lone_surrogate__";
    private const string WrongPassword = "another horse battery staple 7";

    private sealed record Route(string Method, string Pattern, string[] RouteParameters, string[] QueryParameters);
    private sealed record Outcome(Route Route, string What, int Status, string? ContentType, string Body, string? SentEmail);

    [Fact]
    public async Task EveryEndpointAnswersMalformedRequestsWithA4xxProblemAndRefusedOnesWriteNothing()
    {
        await App.SignupVerifiedAsync(fixture.AdminEmail);
        var session = await App.LoginAsync(fixture.AdminEmail);
        var admin = session.GetProperty("accessToken").GetString()!;
        var adminId = session.GetProperty("account").GetProperty("id").GetString()!;
        var routes = Routes();
        Assert.Contains(routes, r => r.Pattern == "/api/signup");
        Assert.Contains(routes, r => r.Pattern == "/api/manage/users/{id}" && r.Method == "PATCH");

        // Which of the known fields each endpoint reads: a number where a field is not one is refused
        // naming the field. Known fields are the properties of every *Request/*Update type plus the
        // profile fields PATCH /api/me takes as a dictionary.
        var fields = KnownFields();
        var reads = new ConcurrentDictionary<Route, List<string>>();
        await ForEachAsync(routes.SelectMany(r => fields.Select(f => (r, f))), async item =>
        {
            var (route, field) = item;
            var response = await SendAsync(route, Url(route, adminId), Encoding.UTF8.GetBytes($"{{\"{field}\":42}}"), "application/json", admin);
            var text = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode == 400 && JsonNode.Parse(text)?["errors"]?[field] is not null)
                lock (reads) reads.GetOrAdd(route, _ => []).Add(field);
        });
        Assert.True(reads.Count >= 15, $"only {reads.Count} endpoints were found to read a body field");

        var structural = await RunAsync(routes.SelectMany(r => StructuralCases(r, adminId, reads.ContainsKey(r))), admin);
        var failures = Check(structural).ToList();

        // Nothing written by a refused request: the structural cases again, for the routes that refused
        // every one of them (a route whose body is optional, e.g. POST /api/manage/invites, may act on
        // an empty one), with every table's row count before and after.
        var accepting = structural.Where(o => o.Status is >= 200 and < 300).Select(o => o.Route).ToHashSet();
        var refusing = routes.Where(r => r.Method != "GET" && !accepting.Contains(r)).ToList();
        Assert.Contains(refusing, r => r.Pattern == "/api/signup");
        var before = await CountRowsAsync();
        var again = await RunAsync(refusing.SelectMany(r => StructuralCases(r, adminId, reads.ContainsKey(r))), admin);
        var after = await CountRowsAsync();
        failures.AddRange(again.Where(o => o.Status is >= 200 and < 300).Select(o => $"{o.What} refused before, accepted now ({o.Status})"));
        // Counters that malformed requests are meant to move (per-IP limits count every request).
        foreach (var table in before.Keys.Where(t => !t.EndsWith("limits", StringComparison.Ordinal)))
            if (before[table] != after[table]) failures.Add($"table {table}: {before[table]} rows before the refused requests, {after[table]} after");

        var fieldCases = routes.SelectMany(r => FieldCases(r, adminId, reads.GetValueOrDefault(r) ?? [])).ToList();
        var outcomes = await RunAsync(fieldCases, admin);
        failures.AddRange(Check(outcomes));

        // A refused request created no account: its fresh address is on no account row.
        var emails = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await foreach (var row in App.Storage.Accounts.QueryAsync<TableEntity>(e => e.RowKey == "account", select: ["Email", "PendingEmail"]))
        {
            if (row.GetString("Email") is { } e) emails.Add(e);
            if (row.GetString("PendingEmail") is { } p) emails.Add(p);
        }
        failures.AddRange(outcomes.Where(o => o.Status >= 400 && o.SentEmail is not null && emails.Contains(o.SentEmail))
            .Select(o => $"{o.What} was refused ({o.Status}) but an account holds its address"));

        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Take(40)) + $"\n({structural.Count + again.Count + outcomes.Count} requests)");
        Assert.Equal(200, (int)(await App.GetAsync("/api/me", admin)).StatusCode); // the sweep ran signed in to the end
        Assert.Contains(outcomes, o => o.Status is >= 200 and < 300); // plausible bodies got through: the base values work
    }

    [Fact]
    public async Task ParallelUpdatesOfOneAccountAnswer200Or409ConcurrentUpdateNeverA500()
    {
        // Retries on ETag conflicts are bounded; when they run out the answer is a 409 with
        // Retry-After (ConcurrencyConflictException), which the sweep first met as 500s.
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("contended"));
        var token = (await App.LoginAsync(email)).GetProperty("accessToken").GetString()!;
        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            App.SendAsync(HttpMethod.Patch, "/api/me", new { firstName = $"Name{i}" }, token)));
        foreach (var response in responses)
        {
            var status = (int)response.StatusCode;
            Assert.True(status is 200 or 409, $"answered {status}: {await response.Content.ReadAsStringAsync()}");
            if (status == 409)
            {
                Assert.Equal("concurrent_update", await TestApp.Code(response));
                Assert.NotNull(response.Headers.RetryAfter);
            }
        }
        Assert.Contains(responses, r => r.IsSuccessStatusCode);
    }

    private static IEnumerable<string> Check(IEnumerable<Outcome> outcomes)
    {
        foreach (var o in outcomes)
        {
            // Kestrel refuses a NUL in the path before the app runs: 400 with an empty body.
            if (o.Status == 400 && o.Body.Length == 0 && o.What.Contains("=%00", StringComparison.Ordinal)) continue;
            if (o.Status >= 500 || o.Status == 0) yield return $"{o.What}: {o.Status} {Truncate(o.Body)}";
            else if (o.Status >= 400 && o.ContentType != "application/problem+json") yield return $"{o.What}: {o.Status} as {o.ContentType}";
            else if (o.Status >= 400 && !HasCode(o.Body)) yield return $"{o.What}: {o.Status} without a code: {Truncate(o.Body)}";
            if (o.Body.Contains("   at ", StringComparison.Ordinal) || o.Body.Contains("Exception", StringComparison.Ordinal))
                yield return $"{o.What}: a stack trace or exception name in the body";
        }
    }

    private static bool HasCode(string body)
    {
        try { return JsonNode.Parse(body)?["code"]?.GetValue<string>() is { Length: > 0 }; }
        catch (JsonException) { return false; }
    }

    private static string Truncate(string s) => s.Length > 300 ? s[..300] + "…" : s;

    /// <summary>
    /// Every HTTP function the host loaded, with its route parameters, and the query parameters
    /// the OpenAPI document gives its operation (what a client would send).
    /// </summary>
    private IReadOnlyList<Route> Routes()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestApp.AppDirectory, "openapi.json")));
        var paths = doc.RootElement.GetProperty("paths");
        var routes = new List<Route>();
        foreach (var function in App.HttpFunctions)
        {
            var pattern = Microsoft.AspNetCore.Routing.Patterns.RoutePatternFactory.Parse(function.Route);
            var routeParameters = pattern.Parameters.Select(p => p.Name).ToArray();
            var documented = "/" + System.Text.RegularExpressions.Regex.Replace(function.Route, @"\{\*?([A-Za-z0-9_]+)[^}]*\}", "{$1}");
            foreach (var method in function.Methods)
            {
                var query = paths.TryGetProperty(documented, out var path) && path.TryGetProperty(method.ToLowerInvariant(), out var op)
                    && op.TryGetProperty("parameters", out var parameters)
                    ? parameters.EnumerateArray().Where(q => q.TryGetProperty("in", out var i) && i.GetString() == "query")
                        .Select(q => q.GetProperty("name").GetString()!).ToArray()
                    : [];
                routes.Add(new Route(method, "/" + function.Route, routeParameters, query));
            }
        }
        return routes;
    }

    private static string[] KnownFields()
    {
        var types = typeof(SignupRequest).Assembly.GetTypes().Concat(typeof(AccountFunctionsApp).Assembly.GetTypes())
            .Where(t => t.IsPublic || t.IsNestedPublic)
            .Where(t => t.Name.EndsWith("Request", StringComparison.Ordinal) || t.Name.EndsWith("Update", StringComparison.Ordinal));
        return types.SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name))
            .Concat(["bio", "location", "avatarUrl", "preferences"])
            .Distinct().Order().ToArray();
    }

    /// <summary>A plausible value per field, so each request differs from a good one in one place only.</summary>
    private static JsonNode? Plausible(string field, string email) => field switch
    {
        "email" or "newEmail" => email,
        "password" or "newPassword" or "currentPassword" => WrongPassword,
        "rememberMe" or "useCookie" => false,
        "code" => "123456",
        "role" => "admin",
        "avatarUrl" => "https://example.test/a.png",
        "preferences" => new JsonObject { ["theme"] = "dark" },
        "token" or "refreshToken" or "mfaToken" => "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        _ => "Ann",
    };

    private static readonly string[] BadStrings =
    [
        "", " ", new string('a', 60_000), new string('x', 100_000),
        "a\u0000b\u0001\u0007\u001b[31m\u007f\u0085\u2028\ufeffc", LoneSurrogate,
        "' OR '1'='1'; DROP TABLE accounts; --", "<script>alert(1)</script><img src=x onerror=alert(1)>",
        "a/b\\c#d?e", "a/b\\c#d?e@example.test", "x@example.test\r\nBcc: victim@example.test", "../../etc/passwd%00", "${jndi:ldap://x}{{7*7}}",
    ];

    private static readonly JsonNode?[] BadValues =
    [
        42, -1, long.MinValue, 1e308, JsonNode.Parse("123456789012345678901234567890"), true, null,
        new JsonArray(), new JsonObject(), new JsonArray(1, "a"), new JsonObject { ["$ne"] = null },
    ];

    private sealed record Case(Route Route, string Url, string What, byte[]? Body, string? ContentType, string? Email);

    private static string Url(Route route, string adminId, string? parameterValue = null, string? query = null)
    {
        var url = route.Pattern;
        foreach (var name in route.RouteParameters)
        {
            var value = parameterValue ?? name switch
            {
                // The admin's own id: admins cannot lock, demote or delete themselves, so the sweep stays signed in.
                "id" when route.Pattern.StartsWith("/api/manage", StringComparison.Ordinal) => adminId,
                "rest" => "login",
                _ => Guid.NewGuid().ToString("N"),
            };
            url = url.Replace("{*" + name + "}", value).Replace("{" + name + "}", value);
        }
        return query is null ? url : url + "?" + query;
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static IEnumerable<Case> StructuralCases(Route route, string adminId, bool readsBody)
    {
        var url = Url(route, adminId);
        Case C(string what, byte[]? body, string? type = "application/json") => new(route, url, $"{route.Method} {route.Pattern} {what}", body, type, null);
        yield return C("no body", null, null);
        yield return C("text/plain", Utf8("{\"email\":\"a@b.test\"}"), "text/plain");
        yield return C("form", Utf8("email=a@b.test&password=x"), "application/x-www-form-urlencoded");
        yield return C("no content type", Utf8("{}"), null);
        yield return C("json with a charset and junk", Utf8("{}"), "application/json; charset=ebcdic; x=\"");
        foreach (var text in new[] { "", "{", "{\"email\":", "{'email':'a'}", "{\"a\":1,}", "nul", "\"unterminated", "{\"a\":1}{\"b\":2}",
                     "[]", "[{}]", "42", "-1", "null", "true", "\"text\"", new string('[', 200) + new string(']', 200), "{\"a\":" + new string('[', 40) + new string(']', 40) + "}" })
            yield return C($"body {Truncate(text)[..Math.Min(text.Length, 20)]}", Utf8(text));
        yield return C("invalid UTF-8", [(byte)'{', (byte)'"', (byte)'e', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, 0xFF, (byte)'"', (byte)'}']);
        if (readsBody) // a handler that never reads the body answers first; the client then fails mid-upload on its own
            yield return C("1 MiB", Utf8("{\"email\":\"" + new string('a', 1024 * 1024) + "\"}"));
        foreach (var name in route.RouteParameters)
            foreach (var value in new[] { "%2F", "a%23b%3Fc", "%27%20OR%201%3D1", new string('9', 2000), "%00", "%ED%A0%80" })
                yield return new(route, Url(route, adminId, value), $"{route.Method} {route.Pattern} {{{name}}}={Truncate(value)[..Math.Min(value.Length, 12)]}", null, null, null);
        foreach (var name in route.QueryParameters)
            foreach (var value in new[] { "-1", "99999999999999999999", "%ED%A0%80", "%00%0A", "%27%20OR%201%3D1", "a%2Fb%5Cc%23d%3F", new string('z', 5000) })
                yield return new(route, Url(route, adminId, query: $"{name}={value}"), $"{route.Method} {route.Pattern} ?{name}={Truncate(value)[..Math.Min(value.Length, 12)]}", null, null, null);
    }

    private static IEnumerable<Case> FieldCases(Route route, string adminId, List<string> fields)
    {
        var url = Url(route, adminId);
        Case Body(string what, Func<string, JsonObject, JsonObject> change)
        {
            var email = TestApp.NewEmail("sweep");
            var body = new JsonObject();
            foreach (var f in fields) body[f] = Plausible(f, email);
            body = change(email, body);
            var text = body.ToJsonString().Replace($"\"{LoneSurrogate}\"", "\"a\\ud800b\\udfff\"", StringComparison.Ordinal);
            var sent = body.Any(p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) && s == email) ? email : null;
            return new(route, url, $"{route.Method} {route.Pattern} {what}", Utf8(text), "application/json", sent);
        }
        if (fields.Count == 0) yield break;
        yield return Body("plausible", (_, b) => b);
        yield return Body("extra fields", (_, b) => { b["unexpected"] = new JsonObject { ["nested"] = 1 }; b["__proto__"] = new JsonObject { ["admin"] = true }; b["isAdmin"] = true; return b; });
        yield return Body("empty object", (_, _) => new JsonObject());
        foreach (var field in fields)
        {
            yield return Body($"{field} missing", (_, b) => { b.Remove(field); return b; });
            foreach (var value in BadStrings)
                yield return Body($"{field}=\"{Truncate(value)[..Math.Min(value.Length, 24)]}\"", (_, b) => { b[field] = value; return b; });
            foreach (var value in BadValues)
                yield return Body($"{field}={value?.ToJsonString() ?? "null"}", (_, b) => { b[field] = value?.DeepClone(); return b; });
        }
    }

    private async Task<List<Outcome>> RunAsync(IEnumerable<Case> cases, string admin)
    {
        var outcomes = new ConcurrentBag<Outcome>();
        await ForEachAsync(cases, async c =>
        {
            try
            {
                using var response = await SendAsync(c.Route, c.Url, c.Body, c.ContentType, admin);
                outcomes.Add(new(c.Route, c.What, (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType,
                    await response.Content.ReadAsStringAsync(), c.Email));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                outcomes.Add(new(c.Route, c.What, 0, null, "no answer: " + e.Message, c.Email));
            }
        });
        return [.. outcomes];
    }

    private async Task<HttpResponseMessage> SendAsync(Route route, string url, byte[]? body, string? contentType, string admin)
    {
        using var request = new HttpRequestMessage(new HttpMethod(route.Method), url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            // Over the limit the server answers 413 without reading; announcing the body lets the client hear it.
            if (body.Length > 64 * 1024) request.Headers.ExpectContinue = true;
        }
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        return await App.Http.SendAsync(request);
    }

    private static Task ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> body) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, _) => await body(item));

    private async Task<Dictionary<string, int>> CountRowsAsync()
    {
        var counts = new Dictionary<string, int>();
        foreach (var table in App.Storage.AllTables)
        {
            var n = 0;
            await foreach (var _ in table.QueryAsync<TableEntity>(select: ["RowKey"])) n++;
            counts[table.Name] = n;
        }
        return counts;
    }
}
