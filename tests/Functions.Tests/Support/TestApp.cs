using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Core.Sweep;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Sweep;
using AccountFunctions.LocalHost;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace AccountFunctions.Functions.Tests.Support;

/// <summary>
/// The real app behind the local Functions host, as in Azure: the host (tools/LocalHost) routes,
/// checks keys, polls the email queue and runs the timer, and drives the worker over gRPC; the
/// worker (AccountFunctionsApp.Build) runs in this test process, so a test can give it settings,
/// services and a FakeTimeProvider. Each TestApp has its own tables (a prefix), its own email
/// queue, and its own FakeSendGrid, against the shared Azurite. Each test class gets one.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private InProcessWorker _app = null!;
    private QueueClient _outboxQueue = null!;

    public HttpClient Http { get; private set; } = null!;
    public FakeSendGrid Mail { get; private set; } = null!;
    public FakeTimeProvider? Clock { get; private set; }
    public IServiceProvider Services => _app.Services;
    public StorageContext Storage => Services.GetRequiredService<StorageContext>();
    public string BaseUrl { get; private set; } = "";
    public LocalFunctionsHost Host => _app.Host;
    /// <summary>The "default" function key: the admin API's functions (authLevel function) need it.</summary>
    public string FunctionKey => _app.Host.FunctionKey;

    /// <summary>The build output of src/Functions (host.json, functions.metadata), as the host reads it.</summary>
    public static string AppDirectory { get; } = InProcessWorker.AppDirectory(Repo.Root);

    /// <param name="configure">Runs after the test defaults (e.g. to add a logger provider).</param>
    public static async Task<TestApp> StartAsync(IDictionary<string, string?>? settings = null, bool fakeClock = false,
        Action<FunctionsApplicationBuilder>? configure = null)
    {
        var azurite = await Azurite.GetAsync();
        var test = new TestApp { Mail = await FakeSendGrid.StartAsync() };
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var queue = prefix + "-email-outbox";
        var config = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Storage:Prefix"] = prefix,
            [StorageOptions.OutboxQueueSetting] = queue,
            // The timer never fires on its own in a test: tests run the sweep when they want it.
            [DueSweepFunction.ScheduleSetting] = "0 0 0 1 1 *",
            ["Email:Transport"] = "SendGrid",
            ["Email:SendGrid:ApiKey"] = FakeSendGrid.ApiKey,
            ["Email:SendGrid:Host"] = test.Mail.Url,
            ["Accounts:PublicBaseUrl"] = "https://accounts.example.test",
            // Every test request comes from one address: per-IP limits are out of the way unless a
            // test sets them (RateLimitTests; RecoveryTests keeps the default forgot limit).
            ["RateLimits:Signup:PermitLimit"] = "100000",
            ["RateLimits:Login:PermitLimit"] = "100000",
            ["RateLimits:MagicLink:PermitLimit"] = "100000",
            ["RateLimits:Resend:PermitLimit"] = "100000",
            ["RateLimits:CodeEntry:PermitLimit"] = "100000",
            // Likewise the per-address cap of wrong codes across codes (10 a day): tests that send
            // many codes to one address would meet it; CodeCapTests sets it.
            ["Security:CodeTriesPerAddress"] = "100000",
            // The enumeration timing floor only slows tests down; TimingFloorTests turns it on.
            ["Security:EnumerationFloor"] = "00:00:00",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) config[k.Replace("__", ":")] = v;
        if (fakeClock) test.Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);

        test._app = await InProcessWorker.StartAsync(AppDirectory, config, builder =>
        {
            builder.Logging.ClearProviders();
            if (Environment.GetEnvironmentVariable("TEST_APP_LOGS") == "1") builder.Logging.AddConsole();
            if (test.Clock is not null) builder.Services.AddSingleton<TimeProvider>(test.Clock);
            configure?.Invoke(builder);
        });
        test._outboxQueue = new QueueClient(azurite.ConnectionString, queue);
        test.BaseUrl = test._app.Host.BaseAddress.ToString().TrimEnd('/');
        test.Http = new HttpClient { BaseAddress = test._app.Host.BaseAddress };
        // The admin API's functions are authLevel function: every test request carries the key
        // (FunctionMetadataTests checks the host refuses one without it).
        test.Http.DefaultRequestHeaders.Add("x-functions-key", test._app.Host.FunctionKey);
        return test;
    }

    /// <summary>
    /// Waits until every email the app has enqueued so far has been handled by the host's queue
    /// trigger (sent, or moved to poison), so a test can then check that an email was not sent.
    /// First a marker email goes the whole way (outbox row, queue, host, SendEmail, transport) to an
    /// address of its own and is received; then the outbox queue must be empty, messages in flight
    /// included (a message leaves the queue only when its invocation has finished). The default
    /// marker is a signup's verification email; a test whose app refuses plain signups gives its own.
    /// </summary>
    public async Task EmailsSettledAsync(Func<string, Task>? sendMarker = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        var marker = NewEmail("marker");
        await (sendMarker ?? (m => SignupAsync(m)))(marker);
        await Mail.WaitForAsync(marker, 1, deadline - DateTime.UtcNow);
        while ((await _outboxQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The email queue {_outboxQueue.Name} was not drained in time.");
            await Task.Delay(50);
        }
    }

    /// <summary>Runs the sweep in the worker now, as its timer would, and returns what it did.</summary>
    public Task<SweepResult> SweepAsync() => Services.GetRequiredService<DueSweep>().RunAsync();

    /// <summary>The host's admin API: runs a non-HTTP function once (202), as Azure's host does.</summary>
    public async Task<HttpResponseMessage> RunFunctionAsync(string name, string input = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/functions/" + name) { Content = JsonContent.Create(new { input }) };
        request.Headers.Add("x-functions-key", _app.Host.MasterKey);
        return await Http.SendAsync(request);
    }

    /// <summary>Every HTTP function as the host loaded it: name, route template, methods (upper case), auth level.</summary>
    public IReadOnlyList<HttpFunction> HttpFunctions => _app.Host.Functions.Where(f => f.IsHttp).Select(f => new HttpFunction(f.Name,
        f.Trigger!.Route ?? f.Name, f.Trigger.Methods.Select(m => m.ToUpperInvariant()).ToArray(), f.Trigger.AuthLevel ?? "function")).ToList();

    public async Task<HttpResponseMessage> PostAsync(string path, object body, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await Http.SendAsync(request);
    }

    /// <summary>Any method, an optional JSON body, an optional bearer token.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, string? bearer = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await Http.SendAsync(request);
    }

    public async Task<HttpResponseMessage> PostRawAsync(string path, string body, string contentType = "application/json")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await Http.PostAsync(path, content);
    }

    public async Task<HttpResponseMessage> GetAsync(string path, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await Http.SendAsync(request);
    }

    public static string NewEmail(string tag = "user") => $"{tag}.{Guid.NewGuid():N}@example.test";
    public const string Password = "correct horse battery staple";

    /// <summary>Signs up and returns the verification email.</summary>
    public async Task<SentEmail> SignupAsync(string email, string password = Password, string? firstName = null)
    {
        var before = Mail.To(email).Count;
        var response = await PostAsync("/api/signup", new { email, password, firstName });
        if (response.StatusCode != HttpStatusCode.Accepted)
            throw new InvalidOperationException($"Signup answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await Mail.WaitForAsync(email, before + 1))[before];
    }

    public async Task<string> SignupVerifiedAsync(string email, string password = Password)
    {
        var mail = await SignupAsync(email, password);
        var verified = await PostAsync("/api/email/verify", new { token = mail.Token });
        if (verified.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"Verify answered {(int)verified.StatusCode}");
        return email;
    }

    public async Task<JsonElement> LoginAsync(string identifier, string password = Password, bool rememberMe = false)
    {
        var response = await PostAsync("/api/login", new { identifier, password, rememberMe });
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"Login answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await Body(response);
    }

    public static async Task<JsonElement> Body(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public static async Task<string?> Code(HttpResponseMessage response) =>
        (await Body(response)).TryGetProperty("code", out var c) ? c.GetString() : null;

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        await Mail.DisposeAsync();
    }
}

/// <summary>An xunit class fixture holding one TestApp.</summary>
public class AppFixture : IAsyncLifetime
{
    public TestApp App { get; private set; } = null!;
    protected virtual IDictionary<string, string?>? Settings => null;
    protected virtual bool FakeClock => false;
    public async Task InitializeAsync() => App = await TestApp.StartAsync(Settings, FakeClock);
    public async Task DisposeAsync() { if (App is not null) await App.DisposeAsync(); }
}

/// <summary>An HTTP function as the host serves it.</summary>
public sealed record HttpFunction(string Name, string Route, string[] Methods, string AuthLevel)
{
    /// <summary>A concrete path for the route: each parameter replaced by a sample value.</summary>
    public string SamplePath => "/" + string.Join('/', RoutePatternFactory.Parse(Route).PathSegments.Select(s =>
        string.Concat(s.Parts.Select(p => p switch
        {
            RoutePatternLiteralPart l => l.Content,
            RoutePatternParameterPart => "x1",
            RoutePatternSeparatorPart sep => sep.Content,
            _ => "",
        }))));
}
