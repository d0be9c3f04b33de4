using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AccountFunctions.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace AccountFunctions.Functions.Tests.Support;

/// <summary>
/// The real app (AccountFunctionsApp.Build) on Kestrel on a free port, against the shared Azurite
/// with its own table/queue prefix, sending email through a FakeSendGrid. Each test class gets one.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private WebApplication _app = null!;

    public HttpClient Http { get; private set; } = null!;
    public FakeSendGrid Mail { get; private set; } = null!;
    public FakeTimeProvider? Clock { get; private set; }
    public IServiceProvider Services => _app.Services;
    public StorageContext Storage => Services.GetRequiredService<StorageContext>();
    public string BaseUrl { get; private set; } = "";

    /// <param name="configure">Runs after the test defaults (e.g. to add a logger provider).</param>
    public static async Task<TestApp> StartAsync(IDictionary<string, string?>? settings = null, bool fakeClock = false,
        Action<WebApplicationBuilder>? configure = null)
    {
        var azurite = await Azurite.GetAsync();
        var test = new TestApp { Mail = await FakeSendGrid.StartAsync() };
        var port = Repo.FreePort();
        test.BaseUrl = $"http://127.0.0.1:{port}";
        var config = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Storage:Prefix"] = "t" + Guid.NewGuid().ToString("N")[..10],
            ["Email:Transport"] = "SendGrid",
            ["Email:SendGrid:ApiKey"] = FakeSendGrid.ApiKey,
            ["Email:SendGrid:Host"] = test.Mail.Url,
            ["Triggers:RunLocally"] = "true",
            ["Triggers:RetryDelay"] = "00:00:00.200",
            ["Triggers:PollInterval"] = "00:00:00.100",
            ["Triggers:SweepInterval"] = "1.00:00:00",
            ["Accounts:PublicBaseUrl"] = "https://accounts.example.test",
            // Every test request comes from one address: per-IP limits are out of the way unless a
            // test sets them (RateLimitTests; RecoveryTests keeps the default forgot limit).
            ["RateLimits:Signup:PermitLimit"] = "100000",
            ["RateLimits:Login:PermitLimit"] = "100000",
            ["RateLimits:MagicLink:PermitLimit"] = "100000",
            ["RateLimits:Resend:PermitLimit"] = "100000",
            ["RateLimits:CodeEntry:PermitLimit"] = "100000",
            // The enumeration timing floor only slows tests down; TimingFloorTests turns it on.
            ["Security:EnumerationFloor"] = "00:00:00",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) config[k.Replace("__", ":")] = v;
        if (fakeClock) test.Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);

        test._app = AccountFunctionsApp.Build(["--urls", test.BaseUrl], builder =>
        {
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.ClearProviders();
            if (Environment.GetEnvironmentVariable("TEST_APP_LOGS") == "1") builder.Logging.AddConsole();
            if (test.Clock is not null) builder.Services.AddSingleton<TimeProvider>(test.Clock);
            configure?.Invoke(builder);
        });
        await test._app.StartAsync();
        test.Http = new HttpClient { BaseAddress = new Uri(test.BaseUrl) };
        return test;
    }

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
        await _app.StopAsync();
        await _app.DisposeAsync();
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
    public async Task DisposeAsync() => await App.DisposeAsync();
}
