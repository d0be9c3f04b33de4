using System.Collections.Concurrent;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// A local OAuth 2.0 token endpoint for the refresh-token grant, as Google's and Microsoft's behave:
/// checks the client and the refresh token, issues short-lived bearer tokens, answers
/// <c>invalid_grant</c> once told the refresh token is revoked, and can hold refreshes until
/// released. It also tells the SMTP server which access tokens are good.
/// </summary>
public sealed class FakeOAuthTokenEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, bool> _tokens = new(); // token -> still accepted
    private readonly ConcurrentQueue<string> _issued = new();
    private volatile TaskCompletionSource? _hold;
    private int _refreshes;

    private FakeOAuthTokenEndpoint(WebApplication app) => _app = app;

    public string TokenUrl { get; private set; } = "";
    public string ClientId { get; } = "client-" + Guid.NewGuid().ToString("N")[..8];
    public string ClientSecret { get; } = "GOCSPX-" + Guid.NewGuid().ToString("N");
    public string RefreshToken { get; } = "1//0g" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");
    public int ExpiresIn { get; } = 300;
    public volatile bool Revoked;
    public string? LastScope { get; private set; }

    /// <summary>Refresh requests received (answered or not).</summary>
    public int Refreshes => Volatile.Read(ref _refreshes);
    public IReadOnlyCollection<string> Issued => _issued;
    public string? Latest => _issued.LastOrDefault();

    /// <summary>What the SMTP server asks: was this token issued here and is it still accepted?</summary>
    public bool Accepts(string token) => _tokens.TryGetValue(token, out var ok) && ok;

    /// <summary>Every token issued so far stops being accepted (expired or revoked at the provider).</summary>
    public void ExpireAll()
    {
        foreach (var t in _tokens.Keys) _tokens[t] = false;
    }

    /// <summary>Refresh requests wait (after being counted) until <see cref="Release"/>.</summary>
    public void Hold() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    public void Release() { _hold?.TrySetResult(); _hold = null; }

    public static async Task<FakeOAuthTokenEndpoint> StartAsync()
    {
        var port = Repo.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeOAuthTokenEndpoint(app) { TokenUrl = $"http://127.0.0.1:{port}/token" };
        app.MapPost("/token", async (HttpContext http) =>
        {
            Interlocked.Increment(ref fake._refreshes);
            if (fake._hold is { } hold) await hold.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var form = await http.Request.ReadFormAsync();
            if (form["client_id"] != fake.ClientId || form["client_secret"] != fake.ClientSecret)
                return Results.Json(new { error = "invalid_client", error_description = "The OAuth client was not found." }, statusCode: 401);
            if (form["grant_type"] != "refresh_token")
                return Results.Json(new { error = "unsupported_grant_type" }, statusCode: 400);
            if (form["refresh_token"] != fake.RefreshToken || fake.Revoked)
                return Results.Json(new { error = "invalid_grant", error_description = "Token has been expired or revoked." }, statusCode: 400);
            fake.LastScope = form["scope"];
            var token = "ya29." + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");
            fake._tokens[token] = true;
            fake._issued.Enqueue(token);
            return Results.Json(new { access_token = token, expires_in = fake.ExpiresIn, token_type = "Bearer", scope = fake.LastScope });
        });
        await app.StartAsync();
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.DisposeAsync();
    }
}
