// Load driver for Account Functions: starts Azurite, the local Functions host and the app's
// worker in this process (every request goes through the host to the worker, as in Azure),
// then measures login, GET /api/me and refresh, counts the storage calls each request makes,
// and what the host hop adds to GET /api/me (the time the function took inside the worker
// beside the time the client saw). Usage: dotnet run -c Release --project bench -- [--seconds N]
// The sweep over a small and a large table: ... -- --sweep [--sizes 1000,100000]
// Existing vs unknown email, answers and latency: ... -- --enumeration [--samples 200]
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using AccountFunctions.Bench;
using AccountFunctions.Core;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Hosting;
using AccountFunctions.Functions.Tests.Support;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(int.Parse).FirstOrDefault(10);
var root = Directory.GetCurrentDirectory();
while (!File.Exists(Path.Combine(root, "AccountFunctions.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Run from inside the repository.");

int tablePort = FreePort(), queuePort = FreePort(), blobPort = FreePort();
using var azurite = Process.Start(new ProcessStartInfo(Path.Combine(root, "node_modules/.bin/azurite"),
    $"--silent --inMemoryPersistence --skipApiVersionCheck --loose --blobPort {blobPort} --queuePort {queuePort} --tablePort {tablePort} " +
    "--blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1") { RedirectStandardOutput = true, RedirectStandardError = true })!;
try
{
    await WaitForPort(tablePort);
    var connection = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;";
    var counter = new CountingPolicy();
    if (args.Contains("--enumeration"))
    {
        await EnumerationBench.RunAsync(connection, args.SkipWhile(a => a != "--samples").Skip(1).Select(int.Parse).FirstOrDefault(200));
        return;
    }
    if (args.Contains("--sweep"))
    {
        var sizes = args.SkipWhile(a => a != "--sizes").Skip(1).FirstOrDefault("1000,100000").Split(',').Select(int.Parse).ToArray();
        await SweepBench.RunAsync(connection, counter, sizes);
        return;
    }
    if (args.Contains("--population"))
    {
        var workers = args.SkipWhile(a => a != "--workers").Skip(1).Select(int.Parse).FirstOrDefault(8);
        await PopulationBench.RunAsync(connection, counter, args.Contains("--seconds") ? seconds : 120, workers, azurite, hot: args.Contains("--hot-account"));
        return;
    }
    if (args.Contains("--email"))
    {
        var messages = args.SkipWhile(a => a != "--messages").Skip(1).Select(int.Parse).FirstOrDefault(2000);
        await EmailBench.RunAsync(connection, counter, messages, azurite);
        return;
    }
    var inWorker = new System.Collections.Concurrent.ConcurrentBag<double>();
    var measuringMe = false;
    await using var app = await InProcessWorker.StartAsync(BenchRoot.AppDirectory, new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connection,
            // Emails stay in the queue (SendEmail disabled, as Azure's AzureWebJobs.<name>.Disabled does) and the
            // timer never fires: no background storage calls while measuring.
            ["AzureWebJobs.SendEmail.Disabled"] = "true",
            ["EmailOutboxQueue"] = "email-outbox",
            ["LockoutSweepSchedule"] = "0 0 0 1 1 *",
            ["Lockout:MaxFailedAttempts"] = "1000000",
            // The driver is one address: the per-IP limits stay on (their batched syncs are
            // counted below) but with room for the whole run.
            ["RateLimits:Signup:PermitLimit"] = "1000000000",
            ["RateLimits:Login:PermitLimit"] = "1000000000",
            ["RateLimits:CodeEntry:PermitLimit"] = "1000000000",
        }, b =>
    {
        b.Logging.ClearProviders();
        b.Services.AddSingleton(new StorageContext(connection, new StorageOptions(), counter));
        // Inside the worker, around the edge middleware (authentication included): to the function's result.
        b.UseMiddleware(async (context, next) =>
        {
            var t = Stopwatch.GetTimestamp();
            await next();
            if (context.FunctionDefinition.Name == "GetMe" && measuringMe) inWorker.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        });
    });
    var url = app.BaseAddress.ToString().TrimEnd('/');
    var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
    using var http = new HttpClient(handler) { BaseAddress = new Uri(url) };

    // One Argon2id hash, measured in this run: the floor under every login.
    var hasher = app.Services.GetRequiredService<PasswordHasher>();
    var stored = hasher.Hash("bench passphrase for one hash");
    var hashTimes = Enumerable.Range(0, 30).Select(_ => Time(() => hasher.Verify("bench passphrase for one hash", stored))).Order().ToArray();
    var hashMs = hashTimes[hashTimes.Length / 2];
    var hashBound = Environment.ProcessorCount * 1000.0 / hashMs;

    // Users, verified through the API with the codes their emails would carry.
    const string password = "benchmark passphrase that is long";
    var tokens = app.Services.GetRequiredService<OneTimeTokens>();
    var storage = app.Services.GetRequiredService<StorageContext>();
    var users = new List<string>();
    for (var i = 0; i < 32; i++)
    {
        var email = $"bench{i}.{Guid.NewGuid():N}@example.test";
        (await http.PostAsJsonAsync("/api/signup", new { email, password })).EnsureSuccessStatusCode();
        var partition = TokensTable.CodesOf(TokenPurpose.Verify, EmailAddress.Hash(email));
        CodeRow? row = null;
        await foreach (var r in storage.Tokens.QueryAsync<CodeRow>(r => r.PartitionKey == partition)) row = r;
        (await http.PostAsJsonAsync("/api/email/verify", new { email, code = await tokens.CodeAsync(row!.Nonce) })).EnsureSuccessStatusCode();
        users.Add(email);
    }

    var results = new List<Result>();
    var n = 0;
    results.Add(await Run("POST /api/login", Environment.ProcessorCount * 2, seconds, counter, async _ =>
    {
        var email = users[Interlocked.Increment(ref n) % users.Count];
        using var r = await http.PostAsJsonAsync("/api/login", new { identifier = email, password });
        return r.StatusCode == HttpStatusCode.OK;
    }));

    var sessions = new List<JsonElement>();
    foreach (var email in users)
    {
        using var r = await http.PostAsJsonAsync("/api/login", new { identifier = email, password });
        sessions.Add(JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
    }
    var accessTokens = sessions.Select(s => s.GetProperty("accessToken").GetString()!).ToArray();
    measuringMe = true;
    results.Add(await Run("GET /api/me", 16, seconds, counter, async _ =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        request.Headers.Authorization = new("Bearer", accessTokens[Interlocked.Increment(ref n) % accessTokens.Length]);
        using var r = await http.SendAsync(request);
        return r.StatusCode == HttpStatusCode.OK;
    }));

    measuringMe = false;
    // One client at a time, for the hop's own cost: the same call through the host, one after another.
    inWorker.Clear();
    measuringMe = true;
    var serial = await Run("GET /api/me (one client)", 1, Math.Max(2, seconds / 2), counter, async _ =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        request.Headers.Authorization = new("Bearer", accessTokens[0]);
        using var r = await http.SendAsync(request);
        return r.StatusCode == HttpStatusCode.OK;
    });
    measuringMe = false;
    var inWorkerSorted = inWorker.Order().ToArray();
    var inWorkerP50 = inWorkerSorted[inWorkerSorted.Length / 2];
    results.Add(serial);

    // Each worker rotates its own session's refresh token.
    var refreshTokens = sessions.Select(s => s.GetProperty("refreshToken").GetString()!).ToArray();
    results.Add(await Run("POST /api/token/refresh", 16, seconds, counter, async worker =>
    {
        var i = worker;
        using var r = await http.PostAsJsonAsync("/api/token/refresh", new { refreshToken = refreshTokens[i] });
        if (r.StatusCode != HttpStatusCode.OK) return false;
        refreshTokens[i] = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("refreshToken").GetString()!;
        return true;
    }));

    Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; {seconds} s per phase; Azurite in memory on loopback");
    Console.WriteLine($"Argon2id (m={app.Services.GetRequiredService<SecurityOptions>().HashMemoryKiB} KiB, t={app.Services.GetRequiredService<SecurityOptions>().HashIterations}, p=1): " +
        $"median {hashMs:F1} ms per hash -> hash-bound login limit {hashBound:F0} req/s ({Environment.ProcessorCount} cores / one hash)");
    Console.WriteLine();
    Console.WriteLine("| request | concurrency | requests | errors | req/s | p50 ms | p99 ms | storage calls per request |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|");
    foreach (var r in results)
        Console.WriteLine($"| {r.Name} | {r.Concurrency} | {r.Count} | {r.Errors} | {r.PerSecond:F0} | {r.P50:F1} | {r.P99:F1} | {r.StorageCallsPerRequest:F2} |");
    Console.WriteLine();
    Console.WriteLine($"The host hop on GET /api/me, one client: p50 {serial.P50:F2} ms at the client, p50 {inWorkerP50:F2} ms inside the worker " +
        $"(worker middleware, authentication included, to the function's result; {inWorkerSorted.Length} calls): the host, the forwarding and the worker's HTTP pipeline add {serial.P50 - inWorkerP50:F2} ms.");
    var login = results[0];
    Console.WriteLine();
    Console.WriteLine($"Login throughput is {100 * login.PerSecond / hashBound:F0}% of the hash-bound limit (goal >= 95%).");
}
finally
{
    try { azurite.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
}

static double Time(Action action)
{
    var sw = Stopwatch.StartNew();
    action();
    return sw.Elapsed.TotalMilliseconds;
}

static async Task<Result> Run(string name, int concurrency, int seconds, CountingPolicy counter, Func<int, Task<bool>> call)
{
    // Warm-up, not measured.
    for (var i = 0; i < concurrency; i++) await call(i);
    var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
    var errors = 0;
    var callsBefore = counter.Count;
    var stop = DateTime.UtcNow.AddSeconds(seconds);
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
    {
        while (DateTime.UtcNow < stop)
        {
            var t = Stopwatch.GetTimestamp();
            var ok = await call(worker);
            latencies.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            if (!ok) Interlocked.Increment(ref errors);
        }
    })));
    var elapsed = sw.Elapsed.TotalSeconds;
    var sorted = latencies.Order().ToArray();
    return new Result(name, concurrency, sorted.Length, errors, sorted.Length / elapsed,
        sorted[sorted.Length / 2], sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))],
        (double)(counter.Count - callsBefore) / sorted.Length);
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static async Task WaitForPort(int port)
{
    for (var i = 0; i < 300; i++)
    {
        try { using var c = new TcpClient(); await c.ConnectAsync(IPAddress.Loopback, port); return; }
        catch (SocketException) { await Task.Delay(100); }
    }
    throw new TimeoutException("Azurite did not start.");
}

namespace AccountFunctions.Bench
{
    public sealed record Result(string Name, int Concurrency, int Count, int Errors, double PerSecond, double P50, double P99, double StorageCallsPerRequest);

    /// <summary>
    /// Counts every storage HTTP call the app makes. With <see cref="Flow"/> set (the population
    /// mode sets it per request, from a header, in a middleware of the app under test), each call
    /// is also counted under that flow and an operation label (kind, table or queue, partition kind).
    /// </summary>
    public sealed class CountingPolicy : HttpPipelinePolicy
    {
        private long _count;
        public long Count => Interlocked.Read(ref _count);

        /// <summary>The flow the current async context works for; null for background work.</summary>
        public static readonly AsyncLocal<string?> Flow = new();
        public readonly System.Collections.Concurrent.ConcurrentDictionary<(string Flow, string Op), long> ByFlow = new();

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Record(message);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Record(message);
            return ProcessNextAsync(message, pipeline);
        }

        private void Record(HttpMessage message)
        {
            Interlocked.Increment(ref _count);
            ByFlow.AddOrUpdate((Flow.Value ?? "(background)", StorageOp.Label(message.Request.Method.ToString(), message.Request.Uri.ToUri(), message.Request.Content)), 1, (_, n) => n + 1);
        }
    }
}
