using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.LocalHost.Tests.Support;

/// <summary>A <see cref="LocalFunctionsHost"/> running tests/SampleWorker, with its own queue
/// name, record file and Azurite connection.</summary>
public sealed class SampleHost : IAsyncDisposable
{
    private SampleHost(LocalFunctionsHost host, string queue, string recordFile, Azurite azurite)
    {
        Host = host;
        QueueName = queue;
        RecordFile = recordFile;
        Azurite = azurite;
        Http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public LocalFunctionsHost Host { get; }
    public string QueueName { get; }
    public string RecordFile { get; }
    public Azurite Azurite { get; }
    public HttpClient Http { get; }

    public static async Task<SampleHost> StartAsync(string schedule = "0 0 0 1 1 *", Action<Dictionary<string, string?>>? settings = null, bool launchWorker = true, TimeSpan? terminateGrace = null)
    {
        var azurite = await Azurite.GetAsync();
        var queue = "q" + Guid.NewGuid().ToString("N")[..12];
        var record = Path.Combine(Path.GetTempPath(), "localhost-tests-" + Guid.NewGuid().ToString("N") + ".jsonl");
        var values = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Sample_Queue"] = queue,
            ["Sample_Schedule"] = schedule,
            ["Sample_RecordFile"] = record,
            ["Sample_Setting"] = "from-options",
        };
        settings?.Invoke(values);
        var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
        {
            AppDirectory = TestEnv.SampleWorkerDir,
            Settings = values,
            LaunchWorker = launchWorker,
            LoggerFactory = Logging,
            WorkerTerminateGracePeriod = terminateGrace ?? TimeSpan.FromSeconds(5),
        });
        return new SampleHost(host, queue, record, azurite);
    }

    /// <summary>Host logs at warning and up go to the console of the test run (helps when a test fails).</summary>
    public static ILoggerFactory Logging { get; } = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)
        .SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft", LogLevel.Error).AddFilter("Worker.Microsoft", LogLevel.Error));

    public QueueClient Queue(string? name = null, bool base64 = true) =>
        new(Azurite.ConnectionString, name ?? QueueName, new QueueClientOptions { MessageEncoding = base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None });

    /// <summary>The JSON lines the sample's queue and timer functions wrote.</summary>
    public List<JsonElement> Records(string function)
    {
        if (!File.Exists(RecordFile)) return [];
        string text;
        try { text = File.ReadAllText(RecordFile); } catch (IOException) { return []; }
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => { try { return JsonDocument.Parse(l).RootElement.Clone(); } catch (JsonException) { return default; } })
            .Where(e => e.ValueKind == JsonValueKind.Object && e.GetProperty("function").GetString() == function)
            .ToList();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        try { File.Delete(RecordFile); } catch (IOException) { }
    }
}

/// <summary>One host shared by the tests of a class.</summary>
public sealed class SharedHost : IAsyncLifetime
{
    public SampleHost Sample { get; private set; } = null!;
    public async Task InitializeAsync() => Sample = await SampleHost.StartAsync();
    public async Task DisposeAsync() => await Sample.DisposeAsync();
}
