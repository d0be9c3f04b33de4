using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AccountFunctions.Core;
using AccountFunctions.Functions.Tests.Support;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Bench;

/// <summary>
/// Existing vs unknown email on every endpoint that could tell them apart: status and body must
/// be identical, and the median latencies close (goal within 10%). One client, one request at a
/// time, the two kinds interleaved in random order per pair so drift in the machine's load hits
/// both alike. Each sample uses its own account and its own unknown address, so the per-address
/// limits (3 per 15 minutes) never apply and every request takes the full path.
/// </summary>
public static class EnumerationBench
{
    private const string Password = "benchmark passphrase that is long";

    private sealed record Probe(string Name, Func<string, string> Path, Func<string, string> Body, Func<int, string> Existing);

    public static async Task RunAsync(string connection, int samples)
    {
        await using var app = await InProcessWorker.StartAsync(BenchRoot.AppDirectory, new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = connection,
                ["Storage:Prefix"] = "enum",
                // Emails stay in the outbox (SendEmail disabled); no background work.
                ["AzureWebJobs.SendEmail.Disabled"] = "true",
                ["EmailOutboxQueue"] = "enum-email-outbox",
                ["LockoutSweepSchedule"] = "0 0 0 1 1 *",
                ["Lockout:MaxFailedAttempts"] = "1000000",
                ["RateLimits:Signup:PermitLimit"] = "1000000000",
                ["RateLimits:Login:PermitLimit"] = "1000000000",
                ["RateLimits:MagicLink:PermitLimit"] = "1000000000",
                ["RateLimits:Forgot:PermitLimit"] = "1000000000",
                ["RateLimits:Resend:PermitLimit"] = "1000000000",
                ["RateLimits:CodeEntry:PermitLimit"] = "1000000000",
            }, b => b.Logging.ClearProviders());
        using var http = new HttpClient { BaseAddress = app.BaseAddress };

        // Accounts: one verified and one unverified per sample (resend matters for the unverified).
        var verified = new List<string>();
        var unverified = new List<string>();
        var tokens = app.Services.GetRequiredService<OneTimeTokens>();
        var storage = app.Services.GetRequiredService<StorageContext>();
        var setup = Stopwatch.StartNew();
        for (var i = 0; i < samples; i++)
        {
            var v = $"known{i}.{Guid.NewGuid():N}@example.test";
            var u = $"pending{i}.{Guid.NewGuid():N}@example.test";
            await Post(http, "/api/signup", $$"""{"email":"{{v}}","password":"{{Password}}"}""", 202);
            await Post(http, "/api/signup", $$"""{"email":"{{u}}","password":"{{Password}}"}""", 202);
            var partition = TokensTable.CodesOf(TokenPurpose.Verify, EmailAddress.Hash(v));
            CodeRow? row = null;
            await foreach (var r in storage.Tokens.QueryAsync<CodeRow>(r => r.PartitionKey == partition)) row = r;
            await Post(http, "/api/email/verify", $$"""{"email":"{{v}}","code":"{{await tokens.CodeAsync(row!.Nonce)}}"}""", 200);
            verified.Add(v);
            unverified.Add(u);
        }
        Console.Error.WriteLine($"set up {samples} verified and {samples} unverified accounts in {setup.Elapsed.TotalSeconds:F0} s");

        var probes = new[]
        {
            new Probe("POST /api/login (wrong password)", _ => "/api/login", e => $$"""{"identifier":"{{e}}","password":"not the password at all 1"}""", i => verified[i]),
            new Probe("POST /api/signup", _ => "/api/signup", e => $$"""{"email":"{{e}}","password":"{{Password}}"}""", i => verified[i]),
            new Probe("POST /api/password/forgot", _ => "/api/password/forgot", e => $$"""{"email":"{{e}}"}""", i => verified[i]),
            new Probe("POST /api/email/resend (unverified)", _ => "/api/email/resend", e => $$"""{"email":"{{e}}"}""", i => unverified[i]),
            new Probe("POST /api/email/resend (verified)", _ => "/api/email/resend", e => $$"""{"email":"{{e}}"}""", i => verified[i]),
            new Probe("POST /api/login/email", _ => "/api/login/email", e => $$"""{"email":"{{e}}"}""", i => verified[i]),
        };

        // Warm-up: JIT, connections, table clients.
        for (var i = 0; i < 5; i++)
            foreach (var p in probes) await Send(http, p.Path(""), p.Body($"warm{i}.{Guid.NewGuid():N}@example.test"));

        var random = new Random(8);
        var rows = new List<string>();
        foreach (var probe in probes)
        {
            var known = new List<double>();
            var unknown = new List<double>();
            int mismatches = 0;
            string? knownAnswer = null, unknownAnswer = null;
            for (var i = 0; i < samples; i++)
            {
                var existing = probe.Existing(i);
                var absent = $"nobody{i}.{Guid.NewGuid():N}@example.test";
                (double Ms, string Answer) a, b;
                if (random.Next(2) == 0)
                {
                    a = await Send(http, probe.Path(existing), probe.Body(existing));
                    b = await Send(http, probe.Path(absent), probe.Body(absent));
                }
                else
                {
                    b = await Send(http, probe.Path(absent), probe.Body(absent));
                    a = await Send(http, probe.Path(existing), probe.Body(existing));
                }
                known.Add(a.Ms);
                unknown.Add(b.Ms);
                if (a.Answer != b.Answer) { mismatches++; knownAnswer = a.Answer; unknownAnswer = b.Answer; }
                knownAnswer ??= a.Answer;
            }
            double mk = Median(known), mu = Median(unknown);
            var diff = (mk - mu) / mu * 100;
            rows.Add($"| {probe.Name,-36} | {samples,7} | {(mismatches == 0 ? "identical" : $"{mismatches} differ"),-10} | {Truncate(knownAnswer!),-34} | {mk,9:F1} | {mu,9:F1} | {diff,+7:+0.0;-0.0} % | {(Math.Abs(diff) <= 10 ? "yes" : "NO"),-6} |");
            if (mismatches > 0) Console.Error.WriteLine($"{probe.Name}: existing answered {knownAnswer}, unknown {unknownAnswer}");
        }

        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; Azurite in memory on loopback, same cores");
        Console.WriteLine();
        Console.WriteLine("| endpoint                             | samples | answers    | answer (status body)               | p50 known | p50 unkn. | known vs unknown | <=10 % |");
        Console.WriteLine("|--------------------------------------|---------|------------|------------------------------------|-----------|-----------|------------------|--------|");
        foreach (var r in rows) Console.WriteLine(r);

    }

    private static string Truncate(string s) => s.Length > 34 ? s[..33] + "…" : s;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static async Task<(double Ms, string Answer)> Send(HttpClient http, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var sw = Stopwatch.StartNew();
        using var response = await http.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        sw.Stop();
        return (sw.Elapsed.TotalMilliseconds, $"{(int)response.StatusCode} {text}");
    }

    private static async Task Post(HttpClient http, string path, string body, int expected)
    {
        var (_, answer) = await Send(http, path, body);
        if (!answer.StartsWith(expected.ToString(), StringComparison.Ordinal)) throw new InvalidOperationException($"{path} answered {answer}");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
