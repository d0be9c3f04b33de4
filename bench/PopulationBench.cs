using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccountFunctions.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Azure.Functions.Worker;
using AccountFunctions.Functions.Tests.Support;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Bench;

/// <summary>
/// A population of synthetic users against the real app: each worker signs a person up, confirms
/// the address with the link the email carries (delivered through the app's own queue drain to a
/// local SendGrid-speaking endpoint), then keeps choosing what a person does next: GET /api/me,
/// refresh, log in again, forget the password and reset it, change the email address, or sign
/// another person up. For a fixed time, then in-flight journeys finish.
///
/// Storage calls are counted per flow: a middleware (a startup filter added here, not app code)
/// copies the request's <c>X-Bench-Flow</c> header into <see cref="CountingPolicy.Flow"/>, so every
/// call the app makes while serving that request is counted under it. The queue drain runs in the
/// same process (<c>Triggers__RunLocally=true</c>) without that header: its calls are counted as
/// <c>(background)</c>, apart from the flows.
/// </summary>
public static class PopulationBench
{
    private const string FlowHeader = "X-Bench-Flow";
    private static readonly TimeSpan MailTimeout = TimeSpan.FromSeconds(60);

    private sealed class Person
    {
        public required string Email;
        public required string Password;
        public string? Refresh;
        public string? Access;
        // The app allows 3 reset emails per address and 3 email changes per account per 15
        // minutes (Security:ResendLimit); a person of this run stays under that.
        public int Resets;
        public int Changes;
    }

    private sealed class Stat
    {
        public readonly ConcurrentBag<double> Ms = new();
        public int Errors;
        public readonly ConcurrentQueue<string> Samples = new();
    }

    /// <param name="hot">
    /// The "one hot account" mix (issue 17): every worker is a client of the same account, with a
    /// session of its own: log in (50%), GET /api/me (25%), refresh (20%), PATCH /api/me (5%).
    /// Sign-ins of one account at the same moment must never fail because another succeeded.
    /// </param>
    public static async Task RunAsync(string connection, CountingPolicy counter, int seconds, int workers, Process azurite, bool hot = false)
    {
        await using var mail = await BenchMail.StartAsync();
        await using var app = await InProcessWorker.StartAsync(BenchRoot.AppDirectory, new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = connection,
                ["EmailOutboxQueue"] = "email-outbox",
                ["LockoutSweepSchedule"] = "0 0 0 1 1 *", // the sweep is not part of this run
                ["Email:Transport"] = "SendGrid",
                ["Email:SendGrid:ApiKey"] = BenchMail.ApiKey,
                ["Email:SendGrid:Host"] = mail.Url,
                ["Lockout:MaxFailedAttempts"] = "1000000",
                // The driver is one address: the per-IP limits stay on (their batched syncs are
                // counted) but with room for the whole run.
                ["RateLimits:Signup:PermitLimit"] = "1000000000",
                ["RateLimits:Login:PermitLimit"] = "1000000000",
                ["RateLimits:MagicLink:PermitLimit"] = "1000000000",
                ["RateLimits:Forgot:PermitLimit"] = "1000000000",
                ["RateLimits:Resend:PermitLimit"] = "1000000000",
                ["RateLimits:CodeEntry:PermitLimit"] = "1000000000",
            }, b =>
        {
            b.Logging.ClearProviders();
            b.Services.AddSingleton(new StorageContext(connection, new StorageOptions(), counter));
            // Storage calls are counted by flow: the function runs in the invocation's context, not the
            // HTTP request's, so the tag is set in worker middleware from the forwarded request's header.
            b.UseMiddleware(async (context, next) =>
            {
                CountingPolicy.Flow.Value = context.GetHttpContext()?.Request.Headers[FlowHeader].FirstOrDefault();
                await next();
            });
        });
        var url = app.BaseAddress.ToString().TrimEnd('/');
        var hasher = app.Services.GetRequiredService<PasswordHasher>();
        var stored = hasher.Hash("bench passphrase for one hash");
        var hashMs = Enumerable.Range(0, 30).Select(_ => { var t = Stopwatch.GetTimestamp(); hasher.Verify("bench passphrase for one hash", stored); return Stopwatch.GetElapsedTime(t).TotalMilliseconds; })
            .Order().ElementAt(15);

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        var stats = new ConcurrentDictionary<string, Stat>();
        var delivery = new ConcurrentBag<double>();
        var people = 0;

        async Task<HttpResponseMessage> Call(string flow, HttpMethod method, string path, object? body, string? bearer, HttpStatusCode expected)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Add(FlowHeader, flow);
            if (body is not null) request.Content = JsonContent.Create(body);
            if (bearer is not null) request.Headers.Authorization = new("Bearer", bearer);
            var stat = stats.GetOrAdd(flow, _ => new Stat());
            var t = Stopwatch.GetTimestamp();
            var response = await http.SendAsync(request);
            await response.Content.LoadIntoBufferAsync();
            stat.Ms.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            if (response.StatusCode != expected)
            {
                Interlocked.Increment(ref stat.Errors);
                if (stat.Samples.Count < 3) stat.Samples.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                throw new FlowFailed();
            }
            return response;
        }

        async Task<BenchEmail> Mail(string flow, string address, int index, long sentAt)
        {
            try
            {
                var email = await mail.WaitForAsync(address, index, MailTimeout);
                delivery.Add((email.ArrivedTimestamp - sentAt) * 1000.0 / Stopwatch.Frequency);
                return email;
            }
            catch (TimeoutException e)
            {
                var stat = stats.GetOrAdd(flow, _ => new Stat());
                Interlocked.Increment(ref stat.Errors);
                stat.Samples.Enqueue(e.Message);
                throw new FlowFailed();
            }
        }

        static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

        void Keep(Person p, JsonElement session)
        {
            p.Access = session.GetProperty("accessToken").GetString();
            p.Refresh = session.GetProperty("refreshToken").GetString();
        }

        async Task<Person> SignupAsync()
        {
            var n = Interlocked.Increment(ref people);
            var p = new Person { Email = $"person{n}.{Guid.NewGuid():N}@example.test", Password = $"population passphrase {Guid.NewGuid():N}" };
            var before = mail.CountTo(p.Email);
            await Call("POST /api/signup", HttpMethod.Post, "/api/signup", new { email = p.Email, password = p.Password, firstName = "Pop" }, null, HttpStatusCode.Accepted);
            var sent = Stopwatch.GetTimestamp();
            var email = await Mail("POST /api/signup", p.Email, before, sent);
            var verified = await Json(await Call("POST /api/email/verify (signup)", HttpMethod.Post, "/api/email/verify", new { token = email.Token }, null, HttpStatusCode.OK));
            if (verified.TryGetProperty("session", out var session) && session.ValueKind == JsonValueKind.Object) Keep(p, session);
            else await LoginAsync(p);
            return p;
        }

        async Task LoginAsync(Person p) =>
            Keep(p, await Json(await Call("POST /api/login", HttpMethod.Post, "/api/login", new { identifier = p.Email, password = p.Password }, null, HttpStatusCode.OK)));

        async Task ResetAsync(Person p)
        {
            var before = mail.CountTo(p.Email);
            await Call("POST /api/password/forgot", HttpMethod.Post, "/api/password/forgot", new { email = p.Email }, null, HttpStatusCode.Accepted);
            var email = await Mail("POST /api/password/forgot", p.Email, before, Stopwatch.GetTimestamp());
            p.Password = $"reset passphrase {Guid.NewGuid():N}";
            await Call("POST /api/password/reset", HttpMethod.Post, "/api/password/reset", new { token = email.Token, newPassword = p.Password }, null, HttpStatusCode.NoContent);
            await LoginAsync(p); // a reset ends every session
        }

        async Task ChangeEmailAsync(Person p)
        {
            var newEmail = $"moved{Interlocked.Increment(ref people)}.{Guid.NewGuid():N}@example.test";
            await Call("POST /api/me/email", HttpMethod.Post, "/api/me/email", new { currentPassword = p.Password, newEmail }, p.Access, HttpStatusCode.Accepted);
            var email = await Mail("POST /api/me/email", newEmail, 0, Stopwatch.GetTimestamp());
            await Call("POST /api/email/verify (email change)", HttpMethod.Post, "/api/email/verify", new { token = email.Token }, null, HttpStatusCode.OK);
            p.Email = newEmail;
        }

        Person? hotAccount = hot ? await SignupAsync() : null;
        stats.Clear(); // the hot mix reports its own flows only

        async Task HotStepAsync(Person client, Random random)
        {
            var roll = random.Next(100);
            if (client.Access is null || roll < 50) await LoginAsync(client);
            else if (roll < 75) await Call("GET /api/me", HttpMethod.Get, "/api/me", null, client.Access, HttpStatusCode.OK);
            else if (roll < 95)
                Keep(client, await Json(await Call("POST /api/token/refresh", HttpMethod.Post, "/api/token/refresh", new { refreshToken = client.Refresh }, null, HttpStatusCode.OK)));
            else await Call("PATCH /api/me", HttpMethod.Patch, "/api/me", new { bio = $"edited {Guid.NewGuid():N}" }, client.Access, HttpStatusCode.OK);
        }

        var callsBefore = counter.ByFlow.ToDictionary(kv => kv.Key, kv => kv.Value);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var azuriteCpuBefore = Cpu(azurite);
        var mailBefore = mail.Delivered;
        var stop = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            Person? p = null;
            var client = hotAccount is null ? null : new Person { Email = hotAccount.Email, Password = hotAccount.Password };
            while (Stopwatch.GetTimestamp() < stop)
            {
                if (client is not null)
                {
                    try { await HotStepAsync(client, random); }
                    catch (FlowFailed) { client.Access = null; } // counted; sign in again
                    continue;
                }
                try
                {
                    if (p is null) { p = await SignupAsync(); continue; }
                    var roll = random.Next(100);
                    if (roll < 40)
                        await Call("GET /api/me", HttpMethod.Get, "/api/me", null, p.Access, HttpStatusCode.OK);
                    else if (roll < 60)
                        Keep(p, await Json(await Call("POST /api/token/refresh", HttpMethod.Post, "/api/token/refresh", new { refreshToken = p.Refresh }, null, HttpStatusCode.OK)));
                    else if (roll < 80)
                        await LoginAsync(p);
                    else if (roll < 85 && p.Resets < 3)
                    {
                        p.Resets++;
                        await ResetAsync(p);
                    }
                    else if (roll >= 85 && roll < 90 && p.Changes < 3)
                    {
                        p.Changes++;
                        await ChangeEmailAsync(p);
                    }
                    else if (roll < 90)
                        await LoginAsync(p);
                    else
                        p = await SignupAsync();
                }
                catch (FlowFailed)
                {
                    p = null; // start over with a new person
                }
            }
        })));
        var elapsed = sw.Elapsed.TotalSeconds;
        // Let the drain finish what the last requests enqueued before reading the background count.
        await Task.Delay(1000);
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        var azuriteCpu = Cpu(azurite) - azuriteCpuBefore;
        var delivered = mail.Delivered - mailBefore;
        var calls = counter.ByFlow.ToDictionary(kv => kv.Key, kv => kv.Value - callsBefore.GetValueOrDefault(kv.Key));

        var security = app.Services.GetRequiredService<SecurityOptions>();
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; Azurite in memory on loopback; " +
            $"{workers} workers for {seconds} s (ran {elapsed:F0} s with the journeys in flight){(hot ? "; mix: one hot account, every worker a client of it" : "")}");
        Console.WriteLine($"Argon2id (m={security.HashMemoryKiB} KiB, t={security.HashIterations}, p=1): median {hashMs:F1} ms per hash on this machine");
        Console.WriteLine($"People signed up: {people} (incl. moved addresses); emails delivered: {delivered}; " +
            $"CPU used: bench process (driver + app + drain + mail endpoint) {cpu:F0} s, Azurite {azuriteCpu:F0} s, over {elapsed:F0} s wall on {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| flow | requests | errors | req/s | p50 ms | p99 ms | storage calls per request |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var order = stats.Keys.Order(StringComparer.Ordinal).ToArray();
        foreach (var flow in order)
        {
            var s = stats[flow];
            var ms = s.Ms.Order().ToArray();
            if (ms.Length == 0) continue;
            var flowCalls = calls.Where(kv => kv.Key.Flow == flow).Sum(kv => kv.Value);
            Console.WriteLine($"| {flow} | {ms.Length} | {s.Errors} | {ms.Length / elapsed:F1} | {ms[ms.Length / 2]:F1} | {ms[Math.Min(ms.Length - 1, (int)(ms.Length * 0.99))]:F1} | {(double)flowCalls / ms.Length:F2} |");
        }
        var d = delivery.Order().ToArray();
        if (d.Length > 0)
            Console.WriteLine($"| email: request answered -> SendGrid endpoint received | {d.Length} | 0 | {d.Length / elapsed:F1} | {d[d.Length / 2]:F1} | {d[Math.Min(d.Length - 1, (int)(d.Length * 0.99))]:F1} | |");
        var totalErrors = stats.Values.Sum(s => s.Errors);
        Console.WriteLine();
        Console.WriteLine($"Errors: {totalErrors}");
        foreach (var (flow, s) in stats)
        foreach (var sample in s.Samples) Console.WriteLine($"  {flow}: {sample}");
        Console.WriteLine();
        Console.WriteLine("Storage operations per request, by flow (calls / requests of the flow):");
        Console.WriteLine();
        Console.WriteLine("| flow | operation | per request |");
        Console.WriteLine("|---|---|---|");
        foreach (var flow in order)
        {
            var n = stats[flow].Ms.Count;
            foreach (var (key, value) in calls.Where(kv => kv.Key.Flow == flow && kv.Value > 0).OrderBy(kv => kv.Key.Op, StringComparer.Ordinal))
                Console.WriteLine($"| {flow} | {key.Op} | {(double)value / n:F2} |");
        }
        var background = calls.Where(kv => kv.Key.Flow == "(background)" && kv.Value > 0).ToArray();
        Console.WriteLine();
        Console.WriteLine($"Background (queue drain, SendEmail, batched limit syncs outside a request): {background.Sum(kv => kv.Value)} calls for {delivered} emails delivered:");
        Console.WriteLine();
        Console.WriteLine("| operation | per email delivered |");
        Console.WriteLine("|---|---|");
        foreach (var (key, value) in background.OrderBy(kv => kv.Key.Op, StringComparer.Ordinal))
            Console.WriteLine($"| {key.Op} | {(double)value / Math.Max(1, delivered):F2} |");
    }

    private static double Cpu(Process p)
    {
        try { p.Refresh(); return p.TotalProcessorTime.TotalSeconds; } catch (InvalidOperationException) { return double.NaN; }
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private sealed class FlowFailed : Exception;
}
