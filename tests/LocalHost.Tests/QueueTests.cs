using System.Text.Json;
using AccountFunctions.LocalHost.Tests.Support;
using Azure.Storage.Queues;

namespace AccountFunctions.LocalHost.Tests;

// host.json of the sample: maxDequeueCount 3, visibilityTimeout 1 s, maxPollingInterval 500 ms.
public sealed class QueueTests(SharedHost fixture) : IClassFixture<SharedHost>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private SampleHost Sample => fixture.Sample;

    private async Task<QueueClient> QueueAsync()
    {
        var q = Sample.Queue();
        await q.CreateIfNotExistsAsync();
        return q;
    }

    /// <summary>The poison queue's messages, base64-decoded when they are base64 (the queue also
    /// holds the raw copy of an undecodable message from another test).</summary>
    private async Task<List<string>> PoisonTextsAsync()
    {
        var poison = Sample.Queue(Sample.QueueName + "-poison", base64: false);
        if (!(await poison.ExistsAsync()).Value) return [];
        return (await poison.PeekMessagesAsync(32)).Value.Select(m =>
        {
            try { return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(m.MessageText)); }
            catch (FormatException) { return m.MessageText; }
        }).ToList();
    }

    private static async Task<int> CountAsync(QueueClient q) => (await q.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    [Fact]
    public async Task AQueueMessageIsProcessedOnceWithItsMetadataAndDeleted()
    {
        var q = await QueueAsync();
        var text = "hello " + Guid.NewGuid();
        var sent = (await q.SendMessageAsync(text)).Value; // base64, the SDK encodes it
        await TestEnv.WaitUntilAsync(() => Sample.Records("OnQueue").Any(r => r.GetProperty("message").GetString() == text), Wait, "the queue function ran");
        var record = Sample.Records("OnQueue").Single(r => r.GetProperty("message").GetString() == text);
        Assert.Equal(sent.MessageId, record.GetProperty("id").GetString());
        Assert.Equal("1", record.GetProperty("dequeueCount").GetString());
        Assert.False(string.IsNullOrEmpty(record.GetProperty("popReceipt").GetString()));
        Assert.False(string.IsNullOrEmpty(record.GetProperty("insertionTime").GetString()));
        var keys = record.GetProperty("keys").GetString()!.Split(',');
        foreach (var k in new[] { "DequeueCount", "ExpirationTime", "Id", "InsertionTime", "NextVisibleTime", "PopReceipt", "QueueTrigger" })
            Assert.Contains(k, keys);
        await TestEnv.WaitUntilAsync(async () => await CountAsync(q) == 0, Wait, "the message was deleted");
        await Sample.MarkerProcessedAsync(); // a later message handled: this one did not come back before it
        Assert.Single(Sample.Records("OnQueue"), r => r.GetProperty("message").GetString() == text);
    }

    [Fact]
    public async Task AJsonQueueMessageReachesAStringParameterAsItsText()
    {
        var q = await QueueAsync();
        var text = JsonSerializer.Serialize(new { id = Guid.NewGuid(), n = 3 });
        await q.SendMessageAsync(text);
        await TestEnv.WaitUntilAsync(() => Sample.Records("OnQueue").Any(r => r.GetProperty("message").GetString() == text), Wait, "the JSON message arrived as text");
    }

    [Fact]
    public async Task AQueueMessageThatIsNotBase64GoesToPoisonAtOnce()
    {
        await QueueAsync();
        var raw = Sample.Queue(base64: false);
        var text = "not base64 " + Guid.NewGuid();
        await raw.SendMessageAsync(text);
        await TestEnv.WaitUntilAsync(async () => (await PoisonTextsAsync()).Contains(text), Wait, "the undecodable message in the poison queue");
        Assert.DoesNotContain(Sample.Records("OnQueue"), r => r.GetProperty("message").GetString()!.Contains(text, StringComparison.Ordinal));
        // The queue keeps working.
        var next = "after " + Guid.NewGuid();
        await Sample.Queue().SendMessageAsync(next);
        await TestEnv.WaitUntilAsync(() => Sample.Records("OnQueue").Any(r => r.GetProperty("message").GetString() == next), Wait, "the next message");
    }

    [Fact]
    public async Task AQueueMessageThatKeepsFailingIsRetriedAfterTheVisibilityTimeoutThenGoesToPoison()
    {
        var q = await QueueAsync();
        var text = "fail " + Guid.NewGuid();
        var started = DateTime.UtcNow;
        await q.SendMessageAsync(text);
        await TestEnv.WaitUntilAsync(() => Sample.Records("OnQueue").Count(r => r.GetProperty("message").GetString() == text) >= 3, Wait, "three attempts");
        var attempts = Sample.Records("OnQueue").Where(r => r.GetProperty("message").GetString() == text).ToList();
        Assert.Equal(new[] { "1", "2", "3" }, attempts.Select(a => a.GetProperty("dequeueCount").GetString()));
        var times = attempts.Select(a => DateTimeOffset.Parse(a.GetProperty("at").GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(times[1] - times[0] >= TimeSpan.FromMilliseconds(900), $"retried after {(times[1] - times[0]).TotalMilliseconds} ms, before the 1 s visibility timeout");

        await TestEnv.WaitUntilAsync(async () => (await PoisonTextsAsync()).Contains(text), Wait, "the message in the poison queue");
        await TestEnv.WaitUntilAsync(async () => await CountAsync(q) == 0, Wait, "the message left the queue");
        await Sample.MarkerProcessedAsync();
        Assert.Equal(3, Sample.Records("OnQueue").Count(r => r.GetProperty("message").GetString() == text));
        Assert.True(DateTime.UtcNow - started < Wait);
    }
}

public sealed class QueueEncodingTests
{
    [Fact]
    public async Task WithMessageEncodingNonePlainTextMessagesAreReadAsTheyAre()
    {
        // A copy of the sample's build output with host.json saying messageEncoding: none.
        var dir = Path.Combine(Path.GetTempPath(), "localhost-none-" + Guid.NewGuid().ToString("N"));
        CopyDirectory(TestEnv.SampleWorkerDir, dir);
        File.WriteAllText(Path.Combine(dir, "host.json"), """
            { "version": "2.0", "extensions": { "queues": { "messageEncoding": "none", "maxPollingInterval": "00:00:00.500" } } }
            """);
        try
        {
            var azurite = await Azurite.GetAsync();
            var queue = "n" + Guid.NewGuid().ToString("N")[..12];
            var record = Path.Combine(dir, "record.jsonl");
            await using var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
            {
                AppDirectory = dir,
                LoggerFactory = SampleHost.Logging,
                Settings = new Dictionary<string, string?>
                {
                    ["AzureWebJobsStorage"] = azurite.ConnectionString,
                    ["Sample_Queue"] = queue,
                    ["Sample_Schedule"] = "0 0 0 1 1 *",
                    ["Sample_RecordFile"] = record,
                },
            });
            var q = new QueueClient(azurite.ConnectionString, queue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
            await q.CreateIfNotExistsAsync();
            await q.SendMessageAsync("plain text, not base64!");
            await TestEnv.WaitUntilAsync(() => File.Exists(record) && File.ReadAllText(record).Contains("plain text, not base64!"), TimeSpan.FromSeconds(30), "the plain message was processed");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    internal static void CopyDirectory(string from, string to)
    {
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(d.Replace(from.TrimEnd('/'), to));
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(f, f.Replace(from.TrimEnd('/'), to), overwrite: true);
    }
}
