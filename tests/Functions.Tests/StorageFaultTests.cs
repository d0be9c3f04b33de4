using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using AccountFunctions.Core.Sweep;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// Storage goes away in the middle of a load of signups and comes back (FlakyProxy between the app
/// and Azurite refuses and resets connections, then serves again on the same ports; Azurite itself
/// cannot be stopped cleanly under load and a killed one loses its last writes, which Azure Storage
/// does not). During the outage: 503 problems,
/// quickly, never a 500 or a hang. Afterwards: every signup that was accepted has its account, and
/// its verification email arrives (a lost enqueue is replayed by the sweep).
/// </summary>
public sealed class StorageFaultTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private sealed record Attempt(string Email, int Status, string? Code, TimeSpan Took, bool DuringOutage);

    [Fact]
    public async Task SignupsDuringAnOutageGet503AndEveryAcceptedOneHasItsAccountAndEmailAfterwards()
    {
        var azurite = await Azurite.GetAsync();
        await using var tables = new FlakyProxy(azurite.TablePort);
        await using var queues = new FlakyProxy(azurite.QueuePort);
        var connection = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};" +
            $"TableEndpoint=http://127.0.0.1:{tables.Port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queues.Port}/devstoreaccount1;";
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = connection }, fakeClock: true);
        await app.SignupAsync(TestApp.NewEmail("warm")); // tables and queues exist, keys generated

        var attempts = new ConcurrentBag<Attempt>();
        var outage = false;
        var completed = 0;
        var load = Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var email = TestApp.NewEmail("load");
            var during = Volatile.Read(ref outage);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var sw = Stopwatch.StartNew();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/signup")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { email, password = TestApp.Password }),
            };
            var response = await app.Http.SendAsync(request, timeout.Token); // a hang fails the test here
            var status = (int)response.StatusCode;
            attempts.Add(new(email, status, status >= 400 ? await TestApp.Code(response) : null, sw.Elapsed, during || Volatile.Read(ref outage)));
            Interlocked.Increment(ref completed);
        });

        // Storage goes away once a quarter of the load is through, and comes back 12 answers later.
        while (Volatile.Read(ref completed) < 10 && !load.IsCompleted) await Task.Delay(10);
        Volatile.Write(ref outage, true);
        tables.Down();
        queues.Down();
        var outageStarted = Volatile.Read(ref completed);
        while (Volatile.Read(ref completed) < outageStarted + 12 && !load.IsCompleted) await Task.Delay(10);
        tables.Up();
        queues.Up();
        Volatile.Write(ref outage, false);
        await load;

        var all = attempts.ToList();
        Assert.Equal(40, all.Count);
        Assert.All(all, a => Assert.True(a.Status is 202 or 503, $"{a.Email}: {a.Status} {a.Code}"));
        Assert.All(all.Where(a => a.Status == 503), a => Assert.Equal("storage_unavailable", a.Code));
        Assert.All(all, a => Assert.True(a.Took < TimeSpan.FromSeconds(15), $"{a.Email} took {a.Took}"));
        Assert.Contains(all, a => a.Status == 503); // the outage was seen
        var accepted = all.Where(a => a.Status == 202).Select(a => a.Email).ToList();
        Assert.True(accepted.Count >= 20, $"only {accepted.Count} of 40 accepted");

        // Emails whose enqueue was lost are re-enqueued by the sweep once they are 10 minutes old.
        var missing = await WaitForMailAsync(app, accepted, TimeSpan.FromSeconds(8));
        var replayed = 0;
        if (missing.Count > 0)
        {
            app.Clock!.Advance(TimeSpan.FromMinutes(11));
            replayed = (await app.Services.GetRequiredService<DueSweep>().RunAsync()).Replayed;
            missing = await WaitForMailAsync(app, missing, TimeSpan.FromSeconds(20));
        }
        Assert.True(missing.Count == 0, $"no verification email for {missing.Count} accepted signups (sweep replayed {replayed}): {string.Join(", ", missing.Take(5))}");

        output.WriteLine($"{accepted.Count} accepted, {all.Count(a => a.Status == 503)} answered 503 " +
            $"(slowest {all.Max(a => a.Took).TotalMilliseconds:0} ms), {replayed} email(s) replayed by the sweep");

        // Each accepted signup has its account: its link verifies it.
        foreach (var email in accepted)
        {
            var verified = await app.PostAsync("/api/email/verify", new { token = app.Mail.To(email).First().Token });
            Assert.True(verified.StatusCode == HttpStatusCode.OK, $"{email}: verify answered {(int)verified.StatusCode}");
        }
    }

    private static async Task<List<string>> WaitForMailAsync(TestApp app, List<string> emails, TimeSpan limit)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var missing = emails.Where(e => app.Mail.To(e).Count == 0).ToList();
            if (missing.Count == 0 || deadline.Elapsed > limit) return missing;
            await Task.Delay(200);
        }
    }
}
