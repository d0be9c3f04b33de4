using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Bench;

public sealed record BenchEmail(string To, string Text, long ArrivedTimestamp)
{
    public string? Token => Regex.Match(Text, @"token=([^&\s]+)") is { Success: true } m ? Uri.UnescapeDataString(m.Groups[1].Value) : null;
}

/// <summary>
/// A minimal local endpoint speaking SendGrid's <c>POST /v3/mail/send</c> (as
/// tests/Functions.Tests/Support/FakeSendGrid.cs does): checks the key, answers 202, and keeps
/// each delivered message by recipient so the driver can follow the links they carry.
/// </summary>
public sealed class BenchMail : IAsyncDisposable
{
    public const string ApiKey = "SG.bench-key";
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<BenchEmail>> _byAddress = new(StringComparer.OrdinalIgnoreCase);
    private long _delivered;

    private BenchMail(WebApplication app, string url) { _app = app; Url = url; }

    public string Url { get; }
    public long Delivered => Interlocked.Read(ref _delivered);

    public static async Task<BenchMail> StartAsync()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var mail = new BenchMail(app, $"http://127.0.0.1:{port}");
        app.MapPost("/v3/mail/send", async (HttpContext http) =>
        {
            if (http.Request.Headers.Authorization != $"Bearer {ApiKey}") return Results.StatusCode(401);
            using var doc = await JsonDocument.ParseAsync(http.Request.Body);
            var root = doc.RootElement;
            var text = root.GetProperty("content").EnumerateArray()
                .Where(c => c.GetProperty("type").GetString() == "text/plain").Select(c => c.GetProperty("value").GetString()).FirstOrDefault() ?? "";
            var now = Stopwatch.GetTimestamp();
            foreach (var p in root.GetProperty("personalizations").EnumerateArray())
            foreach (var to in p.GetProperty("to").EnumerateArray())
            {
                mail._byAddress.GetOrAdd(to.GetProperty("email").GetString()!, _ => new()).Enqueue(new BenchEmail(to.GetProperty("email").GetString()!, text, now));
                Interlocked.Increment(ref mail._delivered);
            }
            return Results.StatusCode(202);
        });
        await app.StartAsync();
        return mail;
    }

    public int CountTo(string address) => _byAddress.TryGetValue(address, out var q) ? q.Count : 0;

    /// <summary>Waits for the address's email number <paramref name="index"/> (0-based) and returns it.</summary>
    public async Task<BenchEmail> WaitForAsync(string address, int index, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_byAddress.TryGetValue(address, out var q) && q.Count > index) return q.ElementAt(index);
            await Task.Delay(20);
        }
        throw new TimeoutException($"No email #{index + 1} to {address} within {timeout.TotalSeconds:F0} s.");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
