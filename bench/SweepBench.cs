using System.Diagnostics;
using AccountFunctions.Core;
using AccountFunctions.Core.Sweep;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Bench;

/// <summary>
/// The LockoutSweep over a small and a large table: N accounts, a tenth of them unverified with
/// deadlines still ahead (their due rows in later hours), and 100 whose deadline has passed.
/// The sweep's time should follow the 100, not the N. Each size is swept three times, with 100
/// freshly due accounts before each run; the median is reported.
/// </summary>
public static class SweepBench
{
    public const int DuePerRun = 100;

    public static async Task RunAsync(string connection, CountingPolicy counter, int[] sizes)
    {
        var rows = new List<(int Size, double Ms, double Calls, int Locked)>();
        foreach (var size in sizes)
        {
            // The app's services, not started: the sweep is called directly, as its timer function does.
            using var app = AccountFunctionsApp.Build([], b =>
            {
                b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["AzureWebJobsStorage"] = connection,
                });
                b.Logging.ClearProviders();
                b.Services.AddSingleton(new StorageContext(connection, new StorageOptions { Prefix = $"sweep{size}" }, counter));
            });
            var storage = app.Services.GetRequiredService<StorageContext>();
            var sweeper = app.Services.GetRequiredService<DueSweep>();
            await storage.ReadyAsync();
            var now = DateTimeOffset.UtcNow;
            var seed = Stopwatch.StartNew();
            await SeedAsync(storage, size, now);
            Console.Error.WriteLine($"seeded {size} accounts in {seed.Elapsed.TotalSeconds:F0} s");
            await sweeper.RunAsync(); // warm-up: nothing due yet

            var runs = new List<(double Ms, long Calls, int Locked)>();
            for (var run = 0; run < 3; run++)
            {
                await AddDueAsync(storage, now, run);
                var calls = counter.Count;
                var sw = Stopwatch.StartNew();
                var result = await sweeper.RunAsync();
                runs.Add((sw.Elapsed.TotalMilliseconds, counter.Count - calls, result.Locked));
            }
            var median = runs.OrderBy(r => r.Ms).ElementAt(1);
            rows.Add((size, median.Ms, median.Calls, median.Locked));
        }

        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; Azurite in memory on loopback");
        Console.WriteLine();
        Console.WriteLine("| accounts | due | sweep ms (median of 3) | storage calls | locked |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var r in rows) Console.WriteLine($"| {r.Size} | {DuePerRun} | {r.Ms:F0} | {r.Calls} | {r.Locked} |");
        for (var i = 1; i < rows.Count; i++)
            Console.WriteLine($"Ratio {rows[i].Size} / {rows[0].Size} accounts: {rows[i].Ms / rows[0].Ms:F2}x (goal <= 2x)");
    }

    private static async Task SeedAsync(StorageContext storage, int size, DateTimeOffset now)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, size), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var account = Account.New(Account.NewId(), now);
            account.Email = $"user{i}@example.test";
            if (i % 10 == 0)
            {
                // Unverified, deadline ahead: a due row in a later hour, which the sweep must not read.
                account.Status = AccountStatus.Unverified;
                account.ConfirmationDeadline = now + TimeSpan.FromMinutes(30 + i % (72 * 60));
                await storage.Due.UpsertEntityAsync(DueRow.For(DueRow.Deadline, account.Id, account.ConfirmationDeadline.Value), TableUpdateMode.Replace, ct);
            }
            else
            {
                account.Status = AccountStatus.Active;
                account.EmailVerified = true;
            }
            await storage.Accounts.UpsertEntityAsync(account, TableUpdateMode.Replace, ct); // upsert: a retried insert must not fail the seeding
        });
    }

    private static async Task AddDueAsync(StorageContext storage, DateTimeOffset now, int run)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, DuePerRun), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var account = Account.New(Account.NewId(), now);
            account.Email = $"due{run}-{i}@example.test";
            account.Status = AccountStatus.Unverified;
            account.ConfirmationDeadline = now - TimeSpan.FromMinutes(1 + i);
            await storage.Accounts.UpsertEntityAsync(account, TableUpdateMode.Replace, ct); // upsert: a retried insert must not fail the seeding
            await storage.Due.UpsertEntityAsync(DueRow.For(DueRow.Deadline, account.Id, account.ConfirmationDeadline.Value), TableUpdateMode.Replace, ct);
        });
    }
}
