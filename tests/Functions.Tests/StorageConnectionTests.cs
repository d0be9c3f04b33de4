using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using AccountFunctions.Core;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Hosting;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// AzureWebJobsStorage in each form the Functions host accepts builds clients for the right
/// account with the right credential. Nothing here reaches the network: clients are only
/// constructed, requests are stopped in the pipeline, and tokens come from a local stand-in of
/// the App Service identity endpoint.
/// </summary>
public sealed class StorageConnectionTests
{
    private const string Key = "RGV2ZWxvcG1lbnRLZXlEZXZlbG9wbWVudEtleURldmVsb3BtZW50S2V5";

    [Fact]
    public void ConnectionStringPointsClientsAtTheAccountItNames()
    {
        var storage = Context(new() { ["AzureWebJobsStorage"] = $"DefaultEndpointsProtocol=https;AccountName=stconn;AccountKey={Key};EndpointSuffix=core.windows.net" });

        Assert.Equal(new Uri("https://stconn.table.core.windows.net/"), storage.TableService.Uri);
        Assert.Equal("stconn", storage.TableService.AccountName);
        Assert.Equal(new Uri("https://stconn.queue.core.windows.net/"), storage.QueueService.Uri);
        Assert.Equal("stconn", storage.QueueService.AccountName);
        Assert.Null(StorageConnection.Credential(Section(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" }), Factory()));
    }

    [Fact]
    public void DevelopmentStorageAndAMissingSettingAreAzurite()
    {
        foreach (var settings in new[] { new Dictionary<string, string?> { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" }, new(), new() { ["AzureWebJobsStorage"] = "" } })
        {
            var storage = Context(settings);
            Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), storage.TableService.Uri);
            Assert.Equal("devstoreaccount1", storage.TableService.AccountName);
            Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), storage.QueueService.Uri);
        }
    }

    [Fact]
    public void AzuriteConnectionStringWithExplicitEndpointsKeepsThem()
    {
        var storage = Context(new()
        {
            ["AzureWebJobsStorage"] = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};" +
                "TableEndpoint=http://127.0.0.1:41002/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;",
        });

        Assert.Equal(new Uri("http://127.0.0.1:41002/devstoreaccount1"), storage.TableService.Uri);
        Assert.Equal(new Uri("http://127.0.0.1:41001/devstoreaccount1"), storage.QueueService.Uri);
        Assert.Equal(new Uri("http://127.0.0.1:41002/devstoreaccount1/accounts"), storage.Accounts.Uri);
    }

    [Fact]
    public void AccountNameWithManagedIdentityPointsAtThePublicEndpoints()
    {
        var settings = new Dictionary<string, string?> { ["AzureWebJobsStorage:accountName"] = "stident", ["AzureWebJobsStorage:credential"] = "managedidentity" };
        var storage = Context(settings);

        Assert.Equal(new Uri("https://stident.table.core.windows.net/"), storage.TableService.Uri);
        Assert.Equal("stident", storage.TableService.AccountName);
        Assert.Equal(new Uri("https://stident.queue.core.windows.net/"), storage.QueueService.Uri);
        Assert.Equal("stident", storage.QueueService.AccountName);
        Assert.Equal(new Uri("https://stident.table.core.windows.net/audit"), storage.Audit.Uri);
        Assert.Equal(new Uri("https://stident.queue.core.windows.net/email-outbox-poison"), storage.OutboxPoison.Uri);
        Assert.IsType<ManagedIdentityCredential>(StorageConnection.Credential(Section(settings), Factory()));
    }

    [Fact]
    public void ServiceUrisAreUsedAsGiven()
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage:tableServiceUri"] = "https://sturi.table.core.chinacloudapi.cn",
            ["AzureWebJobsStorage:queueServiceUri"] = "https://sturi.queue.core.chinacloudapi.cn",
            ["AzureWebJobsStorage:blobServiceUri"] = "https://sturi.blob.core.chinacloudapi.cn",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
        };
        var storage = Context(settings);

        Assert.Equal(new Uri("https://sturi.table.core.chinacloudapi.cn/"), storage.TableService.Uri);
        Assert.Equal("sturi", storage.TableService.AccountName);
        Assert.Equal(new Uri("https://sturi.queue.core.chinacloudapi.cn/"), storage.QueueService.Uri);
        Assert.Equal(new Uri("https://sturi.queue.core.chinacloudapi.cn/email-outbox"), storage.Outbox.Uri);
        Assert.IsType<ManagedIdentityCredential>(StorageConnection.Credential(Section(settings), Factory()));
    }

    [Fact]
    public void AccountNameWithoutCredentialUsesDefaultAzureCredential()
    {
        var settings = new Dictionary<string, string?> { ["AzureWebJobsStorage:accountName"] = "stdefault" };

        Assert.Equal(new Uri("https://stdefault.table.core.windows.net/"), Context(settings).TableService.Uri);
        Assert.IsType<DefaultAzureCredential>(StorageConnection.Credential(Section(settings), Factory()));
    }

    [Fact]
    public void ConnectionStringWinsOverIdentitySettingsAsInTheHost()
    {
        var storage = Context(new()
        {
            ["AzureWebJobsStorage"] = $"DefaultEndpointsProtocol=https;AccountName=stvalue;AccountKey={Key};EndpointSuffix=core.windows.net",
            ["AzureWebJobsStorage:accountName"] = "stchild",
        });

        Assert.Equal("stvalue", storage.TableService.AccountName);
        Assert.Equal("stvalue", storage.QueueService.AccountName);
    }

    [Fact]
    public void IdentitySettingsWithoutAnEndpointFailNamingWhatIsExpected()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Context(new() { ["AzureWebJobsStorage:credential"] = "managedidentity" }));
        Assert.Contains("TableServiceClient", e.Message);
    }

    [Fact]
    public void AddCoreRegistersTheContextFromIdentitySettings()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage:accountName"] = "stcore",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "00000000-0000-0000-0000-00000000c0de",
            ["Storage:Prefix"] = "pre",
            ["EmailOutboxQueue"] = "outbox-q",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddCore(config).BuildServiceProvider();
        var storage = services.GetRequiredService<StorageContext>();

        Assert.Equal(new Uri("https://stcore.table.core.windows.net/preaccounts"), storage.Accounts.Uri);
        Assert.Equal(new Uri("https://stcore.queue.core.windows.net/outbox-q"), storage.Outbox.Uri);
    }

    [Fact]
    public async Task QueueMessagesStayBase64WithIdentitySettings()
    {
        var stop = new StopPolicy();
        var storage = StorageConnection.CreateContext(Config(new() { ["AzureWebJobsStorage:accountName"] = "stbase", ["AzureWebJobsStorage:credential"] = "managedidentity" }),
            new StorageOptions(), Factory(), stop);

        await storage.Outbox.SendMessageAsync("{\"a\":1}");

        var (uri, body) = Assert.Single(stop.Requests);
        Assert.StartsWith("https://stbase.queue.core.windows.net/email-outbox/messages", uri);
        Assert.Contains("<MessageText>" + Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"a\":1}")) + "</MessageText>", body);
    }

    [Fact]
    public async Task UserAssignedClientIdIsTheIdentityTheTokenIsAskedFor()
    {
        const string clientId = "11111111-2222-3333-4444-555555555555";
        await using var endpoint = await IdentityEndpoint.StartAsync();
        var credential = StorageConnection.Credential(Section(new()
        {
            ["AzureWebJobsStorage:accountName"] = "stuser",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = clientId,
        }), Factory());

        var token = await credential!.GetTokenAsync(new TokenRequestContext(["https://storage.azure.com/.default"]), default);

        Assert.Equal(IdentityEndpoint.Token, token.Token);
        var request = Assert.Single(endpoint.Requests);
        Assert.Equal(clientId, request["client_id"]);
        Assert.Equal("https://storage.azure.com", request["resource"]);
    }

    [Fact]
    public async Task SystemAssignedIdentityAsksForNoClientId()
    {
        await using var endpoint = await IdentityEndpoint.StartAsync();
        var credential = StorageConnection.Credential(Section(new()
        {
            ["AzureWebJobsStorage:accountName"] = "stsystem",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
        }), Factory());

        await credential!.GetTokenAsync(new TokenRequestContext(["https://storage.azure.com/.default"]), default);

        var request = Assert.Single(endpoint.Requests);
        Assert.Null(request["client_id"]);
        Assert.Null(request["mi_res_id"]);
    }

    private static IConfiguration Config(Dictionary<string, string?> settings) => new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private static IConfigurationSection Section(Dictionary<string, string?> settings) => StorageConnection.Section(Config(settings));

    private static AzureComponentFactory Factory()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddAzureClientsCore();
        return services.BuildServiceProvider().GetRequiredService<AzureComponentFactory>();
    }

    private static StorageContext Context(Dictionary<string, string?> settings) =>
        StorageConnection.CreateContext(Config(settings), new StorageOptions(), Factory());

    /// <summary>Records each request and answers 201 without sending it (it runs before authentication and the transport).</summary>
    private sealed class StopPolicy : HttpPipelinePolicy
    {
        public ConcurrentQueue<(string Uri, string Body)> Requests { get; } = new();

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            using var body = new MemoryStream();
            if (message.Request.Content is { } content) await content.WriteToAsync(body, default);
            Requests.Enqueue((message.Request.Uri.ToString(), Encoding.UTF8.GetString(body.ToArray())));
            message.Response = new CreatedResponse();
        }
    }

    private sealed class CreatedResponse : Response
    {
        public override int Status => 201;
        public override string ReasonPhrase => "Created";
        public override Stream? ContentStream { get; set; } = new MemoryStream(Encoding.UTF8.GetBytes(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList><QueueMessage><MessageId>m</MessageId>" +
            "<InsertionTime>Mon, 01 Dec 2025 00:00:00 GMT</InsertionTime><ExpirationTime>Mon, 08 Dec 2025 00:00:00 GMT</ExpirationTime>" +
            "<PopReceipt>p</PopReceipt><TimeNextVisible>Mon, 01 Dec 2025 00:00:00 GMT</TimeNextVisible></QueueMessage></QueueMessagesList>"));
        public override string ClientRequestId { get; set; } = "";
        public override void Dispose() { }
        protected override bool ContainsHeader(string name) => name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase);
        protected override IEnumerable<HttpHeader> EnumerateHeaders() => [new("Content-Type", "application/xml")];
        protected override bool TryGetHeader(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
        {
            value = ContainsHeader(name) ? "application/xml" : null;
            return value is not null;
        }
        protected override bool TryGetHeaderValues(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IEnumerable<string>? values)
        {
            values = ContainsHeader(name) ? ["application/xml"] : null;
            return values is not null;
        }
    }
}

/// <summary>
/// A stand-in for the App Service managed identity endpoint (IDENTITY_ENDPOINT and IDENTITY_HEADER,
/// as Azure sets them on a Functions instance): ManagedIdentityCredential asks it for tokens, and it
/// records the query each request carried. The variables are process-wide, so the tests using it
/// run one at a time, and nothing else in this test run uses a managed identity.
/// </summary>
internal sealed class IdentityEndpoint : IAsyncDisposable
{
    public const string Token = "fake-storage-token";
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    private IdentityEndpoint(int port)
    {
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", $"http://127.0.0.1:{port}/msi/token");
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", "identity-header");
        _loop = Task.Run(LoopAsync);
    }

    public ConcurrentQueue<System.Collections.Specialized.NameValueCollection> Requests { get; } = new();

    public static async Task<IdentityEndpoint> StartAsync()
    {
        await OneAtATime.WaitAsync();
        return new IdentityEndpoint(Support.Repo.FreePort());
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) when (!_listener.IsListening) { return; }
            catch (HttpListenerException) { return; }
            Requests.Enqueue(context.Request.QueryString);
            var expires = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
            var body = Encoding.UTF8.GetBytes($$"""{"access_token":"{{Token}}","expires_on":"{{expires}}","resource":"https://storage.azure.com","token_type":"Bearer"}""");
            context.Response.StatusCode = context.Request.Headers["X-IDENTITY-HEADER"] == "identity-header" ? 200 : 401;
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", null);
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", null);
        _listener.Stop();
        _listener.Close();
        await _loop;
        OneAtATime.Release();
    }
}
