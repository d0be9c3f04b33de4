using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace AccountFunctions.LocalHost.Tests.Support;

/// <summary>A <see cref="LocalFunctionsHost"/> running tests/SampleWorker, with its own queue
/// name, record file and Azurite connection.</summary>
public sealed class SampleHost : IAsyncDisposable
{
    private SampleHost(LocalFunctionsHost host, string queue, string recordFile, Azurite azurite, HostLog log)
    {
        Host = host;
        Log = log;
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
    /// <summary>What this host logged (information and up), to wait for what it did.</summary>
    public HostLog Log { get; }

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
        var log = new HostLog();
        var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
        {
            AppDirectory = TestEnv.SampleWorkerDir,
            Settings = values,
            LaunchWorker = launchWorker,
            LoggerFactory = LoggingWith(log),
            WorkerTerminateGracePeriod = terminateGrace ?? TimeSpan.FromSeconds(5),
        });
        return new SampleHost(host, queue, record, azurite, log);
    }

    /// <summary>Host logs at warning and up go to the console of the test run (helps when a test fails).</summary>
    public static ILoggerFactory Logging { get; } = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)
        .SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft", LogLevel.Error).AddFilter("Worker.Microsoft", LogLevel.Error));

    /// <summary>The console logging of <see cref="Logging"/>, plus every line at information and up into <paramref name="log"/>.</summary>
    private static ILoggerFactory LoggingWith(HostLog log) => LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)
        .SetMinimumLevel(LogLevel.Information)
        .AddFilter<ConsoleLoggerProvider>(null, LogLevel.Warning).AddFilter<ConsoleLoggerProvider>("Microsoft", LogLevel.Error)
        .AddFilter<ConsoleLoggerProvider>("Worker.Microsoft", LogLevel.Error)
        .AddProvider(log));

    /// <summary>
    /// Sends <paramref name="marker"/> to the sample's queue and waits until the OnQueue function
    /// recorded it and the queue holds no message, in flight included: whatever the host was due to
    /// do with the messages before it has been done. Tests that check something did not happen
    /// wait for this instead of sleeping.
    /// </summary>
    public async Task MarkerProcessedAsync(string? marker = null)
    {
        marker ??= "marker " + Guid.NewGuid();
        var queue = Queue();
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync(marker);
        await TestEnv.WaitUntilAsync(() => Records("OnQueue").Any(r => r.GetProperty("message").GetString() == marker), TimeSpan.FromSeconds(30), "the marker message was processed");
        await TestEnv.WaitUntilAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0, TimeSpan.FromSeconds(30), "the queue was drained");
    }

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

/// <summary>The lines a host logged, as "Category: message".</summary>
public sealed class HostLog : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    public IReadOnlyCollection<string> Lines => _lines;
    public bool Contains(string text) => _lines.Any(l => l.Contains(text, StringComparison.Ordinal));
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void Dispose() { }

    private sealed class Logger(HostLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner._lines.Enqueue($"{category}: {formatter(state, exception)}");
        }
    }
}

/// <summary>One host shared by the tests of a class.</summary>
public sealed class SharedHost : IAsyncLifetime
{
    public SampleHost Sample { get; private set; } = null!;
    public async Task InitializeAsync() => Sample = await SampleHost.StartAsync();
    public async Task DisposeAsync() => await Sample.DisposeAsync();
}
