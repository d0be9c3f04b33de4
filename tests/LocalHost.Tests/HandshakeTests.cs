using AccountFunctions.LocalHost.Tests.Support;

namespace AccountFunctions.LocalHost.Tests;

public sealed class HandshakeTests(SharedHost fixture) : IClassFixture<SharedHost>
{
    private LocalFunctionsHost Host => fixture.Sample.Host;

    [Fact]
    public async Task EveryFunctionIsLoadedWithItsBindings()
    {
        await Host.WaitForWorkerAsync(TimeSpan.FromSeconds(5));
        var names = Host.Functions.Select(f => f.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "AdminOnly", "Anonymous", "Big", "CatchAll", "Echo", "Item", "ItemByName", "ItemsNew", "Keyed", "NoRoute", "OnQueue", "OnStartup", "OnTimer", "Optional", "PostOnly", "Status", "Throws" }, names);

        var echo = Host.Functions.Single(f => f.Name == "Echo").Trigger!;
        Assert.Equal("httpTrigger", echo.Type, ignoreCase: true);
        Assert.Equal("in", echo.Direction);
        Assert.Equal("echo/{a}/{b?}", echo.Route);
        Assert.Equal(new[] { "get", "post", "put" }, echo.Methods);
        Assert.Equal("anonymous", echo.AuthLevel);
        Assert.Equal("function", Host.Functions.Single(f => f.Name == "Keyed").Trigger!.AuthLevel);
        Assert.Equal("admin", Host.Functions.Single(f => f.Name == "AdminOnly").Trigger!.AuthLevel);
        Assert.Empty(Host.Functions.Single(f => f.Name == "NoRoute").Trigger!.Methods);

        var queue = Host.Functions.Single(f => f.Name == "OnQueue").Trigger!;
        Assert.Equal(fixture.Sample.QueueName, queue.QueueName); // %Sample_Queue% resolved
        var timer = Host.Functions.Single(f => f.Name == "OnTimer").Trigger!;
        Assert.Equal("0 0 0 1 1 *", timer.Schedule);
        Assert.All(Host.Functions, f => Assert.False(string.IsNullOrEmpty(f.FunctionId)));
        Assert.NotNull(Host.WorkerProcessId);
        Assert.Equal(1, Host.WorkerGeneration);
    }

    [Fact]
    public void AFunctionRoutedIntoTheReservedAdminSpaceIsNotLoaded()
    {
        Assert.DoesNotContain(Host.Functions, f => f.Name == "Reserved");
    }

    [Fact]
    public async Task ASettingThatDoesNotResolveKeepsThatFunctionOutAndTheRestRuns()
    {
        await using var sample = await SampleHost.StartAsync(settings: s => s.Remove("Sample_Queue"));
        Assert.DoesNotContain(sample.Host.Functions, f => f.Name == "OnQueue");
        Assert.Contains(sample.Host.Functions, f => f.Name == "OnTimer");
        var response = await sample.Http.GetAsync("/api/hello");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ADisabledFunctionAnswers404ExceptToTheMasterKeyAndItsTimerDoesNotRun()
    {
        await using var sample = await SampleHost.StartAsync(settings: s =>
        {
            s["AzureWebJobs.Anonymous.Disabled"] = "true";
            s["AzureWebJobs.OnStartup.Disabled"] = "true";
        });
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await sample.Http.GetAsync("/api/hello")).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/hello");
        request.Headers.Add("x-functions-key", sample.Host.MasterKey);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await sample.Http.SendAsync(request)).StatusCode);
        // The host decided (it logs the disabled function where it starts the listeners), and a
        // queue message sent later has been handled: a startup run would have come before it.
        await TestEnv.WaitUntilAsync(() => sample.Log.Contains("Function 'OnStartup' is disabled"), TimeSpan.FromSeconds(15), "the host skipped OnStartup");
        await sample.MarkerProcessedAsync();
        Assert.Empty(sample.Records("OnStartup"));
    }

    [Fact]
    public async Task WithoutWorkerIndexingTheFunctionsComeFromFunctionsMetadata()
    {
        var dir = Path.Combine(Path.GetTempPath(), "localhost-meta-" + Guid.NewGuid().ToString("N"));
        QueueEncodingTests.CopyDirectory(TestEnv.SampleWorkerDir, dir);
        var config = Path.Combine(dir, "worker.config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"workerIndexing\": \"true\"", "\"workerIndexing\": \"false\"", StringComparison.Ordinal));
        Assert.Contains("\"workerIndexing\": \"false\"", File.ReadAllText(config));
        try
        {
            var azurite = await Azurite.GetAsync();
            await using var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
            {
                AppDirectory = dir,
                LoggerFactory = SampleHost.Logging,
                Settings = new Dictionary<string, string?>
                {
                    ["AzureWebJobsStorage"] = azurite.ConnectionString,
                    ["Sample_Queue"] = "meta",
                    ["Sample_Schedule"] = "0 0 0 1 1 *",
                },
            });
            Assert.Equal(17, host.Functions.Count);
            using var http = new HttpClient { BaseAddress = host.BaseAddress };
            Assert.Equal("item 5", await http.GetStringAsync("/api/items/5"));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void TheHostHasLoopbackAddressesWorkerIdsAndTwoDifferentKeys()
    {
        Assert.Equal("127.0.0.1", Host.BaseAddress.Host);
        Assert.Equal("127.0.0.1", Host.GrpcAddress.Host);
        Assert.NotEqual(Host.BaseAddress.Port, Host.GrpcAddress.Port);
        Assert.True(Guid.TryParse(Host.WorkerId, out _));
        Assert.True(Guid.TryParse(Host.RequestId, out _));
        Assert.False(string.IsNullOrEmpty(Host.MasterKey));
        Assert.NotEqual(Host.MasterKey, Host.FunctionKey);
    }
}
