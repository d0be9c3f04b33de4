using System.Diagnostics;
using AccountFunctions.LocalHost.Tests.Support;
using Xunit.Abstractions;

namespace AccountFunctions.LocalHost.Tests;

/// <summary>Start-up time and warm HTTP latency through the host, written to the test output;
/// the bounds are loose (a shared machine), they catch only something gone badly wrong.</summary>
public sealed class MeasurementTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheHostStartsItsWorkerInUnder30SecondsAndWarmRequestsTakeUnder100MsAtTheMedian()
    {
        await Azurite.GetAsync(); // not part of the host's start
        var sw = Stopwatch.StartNew();
        await using var sample = await SampleHost.StartAsync();
        var start = sw.Elapsed;
        var workerToLoaded = sample.Host.WorkerStartupDuration!.Value;
        for (int i = 0; i < 50; i++) await sample.Http.GetStringAsync("/api/hello");
        var times = new List<double>();
        for (int i = 0; i < 300; i++)
        {
            var t = Stopwatch.StartNew();
            var body = await sample.Http.GetStringAsync("/api/hello");
            times.Add(t.Elapsed.TotalMilliseconds);
            Assert.Equal("hello", body);
        }
        times.Sort();
        double p50 = times[times.Count / 2], p95 = times[(int)(times.Count * 0.95)];
        output.WriteLine($"StartAsync: {start.TotalMilliseconds:0} ms; worker process start to all loaded: {workerToLoaded.TotalMilliseconds:0} ms; warm GET /api/hello p50 {p50:0.00} ms, p95 {p95:0.00} ms");
        Console.WriteLine($"MEASURE StartAsync={start.TotalMilliseconds:0}ms workerToLoaded={workerToLoaded.TotalMilliseconds:0}ms p50={p50:0.00}ms p95={p95:0.00}ms");
        Assert.True(workerToLoaded < TimeSpan.FromSeconds(30));
        Assert.True(p50 < 100, $"p50 {p50} ms");
    }
}
