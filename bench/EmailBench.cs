using System.Diagnostics;
using AccountFunctions.Core;
using AccountFunctions.Functions.Tests.Support;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Bench;

/// <summary>
/// The email pipeline's throughput: N outbox rows are committed and enqueued through the app's
/// own <see cref="Outbox"/> (as any flow does) before the app starts; then the app starts with
/// <c>Triggers__RunLocally=true</c>, its local drain takes them from <c>email-outbox</c> and runs
/// SendEmail on each (load the row, lease it, render, POST to a local SendGrid-speaking endpoint,
/// mark sent, delete the replay marker, delete the message), and the clock stops when the endpoint
/// has received all N. Storage calls are counted over the drain.
/// </summary>
public static class EmailBench
{
    public static async Task RunAsync(string connection, CountingPolicy counter, int messages, Process azurite)
    {
        await using var mail = await BenchMail.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connection,
            ["EmailOutboxQueue"] = "email-outbox",
            ["LockoutSweepSchedule"] = "0 0 0 1 1 *",
            ["Email:Transport"] = "SendGrid",
            ["Email:SendGrid:ApiKey"] = BenchMail.ApiKey,
            ["Email:SendGrid:Host"] = mail.Url,
        };
        void Configure(Microsoft.Azure.Functions.Worker.Builder.FunctionsApplicationBuilder b)
        {
            b.Logging.ClearProviders();
            b.Services.AddSingleton(new StorageContext(connection, new StorageOptions(), counter));
        }

        double seedSeconds;
        // Seed with the app's services before any host polls the queue: the same calls a flow makes
        // for one email (replay marker, row, queue message).
        using (var seeder = AccountFunctionsApp.Build([], b => { b.Configuration.AddInMemoryCollection(settings); Configure(b); }))
        {
            var outbox = seeder.Services.GetRequiredService<Outbox>();
            await seeder.Services.GetRequiredService<StorageContext>().ReadyAsync();
            var seed = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, messages), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            {
                var row = outbox.Create(Guid.CreateVersion7().ToString("N"), EmailTemplates.PasswordChanged, $"mail{i}@example.test", "Bench Person");
                await outbox.CommitAsync(row, ct);
            });
            seedSeconds = seed.Elapsed.TotalSeconds;
        }

        var calls = counter.Count;
        var opsBefore = counter.ByFlow.ToDictionary(kv => kv.Key, kv => kv.Value);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var azuriteCpu = Cpu(azurite);
        var sw = Stopwatch.StartNew();
        // The local host and the worker: the host polls the queue and invokes SendEmail, as in Azure.
        await using var app = await InProcessWorker.StartAsync(BenchRoot.AppDirectory, settings, Configure);
        double? first = null;
        var timeout = Stopwatch.StartNew();
        while (mail.Delivered < messages && timeout.Elapsed < TimeSpan.FromMinutes(3))
        {
            if (first is null && mail.Delivered > 0) first = sw.Elapsed.TotalSeconds;
            await Task.Delay(10);
        }
        var total = sw.Elapsed.TotalSeconds;
        var drainCalls = counter.Count - calls;
        var usedCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var usedAzurite = Cpu(azurite) - azuriteCpu;


        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; Azurite in memory on loopback");
        Console.WriteLine($"Seeded {messages} outbox rows + queue messages in {seedSeconds:F1} s ({messages / seedSeconds:F0}/s, 3 storage calls each)");
        Console.WriteLine();
        Console.WriteLine("| messages | delivered | seconds (start -> last) | messages/s | messages/s after the first | storage calls per message | CPU s bench process | CPU s Azurite |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        Console.WriteLine($"| {messages} | {mail.Delivered} | {total:F1} | {mail.Delivered / total:F0} | {(first is { } f && total > f ? (mail.Delivered - 1) / (total - f) : 0):F0} | {(double)drainCalls / Math.Max(1, mail.Delivered):F2} | {usedCpu:F0} | {usedAzurite:F0} |");
        Console.WriteLine();
        Console.WriteLine("| operation (drain + SendEmail) | per message |");
        Console.WriteLine("|---|---|");
        foreach (var (key, value) in counter.ByFlow.Select(kv => (kv.Key, Value: kv.Value - opsBefore.GetValueOrDefault(kv.Key)))
                     .Where(kv => kv.Value > 0).OrderBy(kv => kv.Key.Op, StringComparer.Ordinal))
            Console.WriteLine($"| {key.Op} | {(double)value / Math.Max(1, mail.Delivered):F2} |");
        if (mail.Delivered < messages) Console.WriteLine($"NOT ALL DELIVERED: {mail.Delivered} of {messages}");
    }

    private static double Cpu(Process p)
    {
        try { p.Refresh(); return p.TotalProcessorTime.TotalSeconds; } catch (InvalidOperationException) { return double.NaN; }
    }
}
