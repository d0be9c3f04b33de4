using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Tests.Support;

public sealed record SentEmail(string To, string Subject, string Text, string Html, string? OutboxId)
{
    public string? Link => Regex.Match(Text, @"https?://\S+/account/\S+") is { Success: true } m ? m.Value : null;
    public string? Token => Link is { } l ? Uri.UnescapeDataString(Regex.Match(l, @"token=([^&\s]+)").Groups[1].Value) : null;
    public string? Code => Regex.Match(Text, @"code: (\d{6})") is { Success: true } m ? m.Groups[1].Value : null;
}

/// <summary>
/// A local endpoint speaking SendGrid's <c>POST /v3/mail/send</c>: checks the API key, records
/// what a real transport delivered, and can be told to fail the next requests.
/// </summary>
public sealed class FakeSendGrid : IAsyncDisposable
{
    public const string ApiKey = "SG.test-key";
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<SentEmail> _sent = new();
    private int _failNext;

    private FakeSendGrid(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";
    public IReadOnlyCollection<SentEmail> Sent => _sent;
    public int Requests;

    public void FailNext(int count) => Interlocked.Exchange(ref _failNext, count);

    public static async Task<FakeSendGrid> StartAsync()
    {
        var port = Repo.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeSendGrid(app) { Url = $"http://127.0.0.1:{port}" };
        app.MapPost("/v3/mail/send", async (HttpContext http) =>
        {
            Interlocked.Increment(ref fake.Requests);
            if (http.Request.Headers.Authorization != $"Bearer {ApiKey}") return Results.StatusCode(401);
            if (Interlocked.Decrement(ref fake._failNext) >= 0) return Results.StatusCode(503);
            using var doc = await JsonDocument.ParseAsync(http.Request.Body);
            var root = doc.RootElement;
            var content = root.GetProperty("content").EnumerateArray().ToDictionary(
                c => c.GetProperty("type").GetString()!, c => c.GetProperty("value").GetString()!);
            // subject and custom_args may sit on a personalization or on the message (SendGrid's rules).
            string? Field(JsonElement p, string name, string? inner = null)
            {
                foreach (var scope in new[] { p, root })
                    if (scope.TryGetProperty(name, out var v))
                        return inner is null ? v.GetString() : v.TryGetProperty(inner, out var i) ? i.GetString() : null;
                return null;
            }
            foreach (var personalization in root.GetProperty("personalizations").EnumerateArray())
            foreach (var to in personalization.GetProperty("to").EnumerateArray())
                fake._sent.Enqueue(new SentEmail(to.GetProperty("email").GetString()!, Field(personalization, "subject") ?? "",
                    content.GetValueOrDefault("text/plain", ""), content.GetValueOrDefault("text/html", ""),
                    Field(personalization, "custom_args", "outbox_id")));
            return Results.StatusCode(202);
        });
        await app.StartAsync();
        return fake;
    }

    public IReadOnlyList<SentEmail> To(string address) =>
        _sent.Where(e => string.Equals(e.To, address, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>Waits until <paramref name="count"/> emails reached the address, and returns them.</summary>
    public async Task<IReadOnlyList<SentEmail>> WaitForAsync(string address, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            var mails = To(address);
            if (mails.Count >= count) return mails;
            await Task.Delay(50);
        }
        throw new TimeoutException($"Expected {count} email(s) to {address}, got {To(address).Count}.");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
