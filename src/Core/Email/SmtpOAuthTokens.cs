using System.Text.Json;
using System.Text.RegularExpressions;
using AccountFunctions.Core.Operations;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Email;

/// <summary>Why an XOAUTH2 send could not authenticate. The message names the cause, never a token.</summary>
public sealed class SmtpOAuthException(string reason, string message, Exception? inner = null) : Exception(message, inner)
{
    public const string RefreshTokenRefused = "refresh_token_refused";
    public const string TokenEndpointFailed = "token_endpoint_failed";
    public const string AccessTokenRefused = "access_token_refused";

    public string Reason { get; } = reason;
}

/// <summary>
/// Access tokens for SMTP XOAUTH2, from the refresh-token grant (RFC 6749 section 6). One token is
/// kept until <see cref="RefreshMargin"/> before it expires; concurrent sends that find none share
/// one refresh; a token the SMTP server refused is forgotten (<see cref="Reject"/>) so the next
/// caller refreshes. A failed refresh is not kept: the next send tries again.
/// </summary>
public sealed partial class SmtpOAuthTokens(SmtpOAuthSettings settings, HttpClient http, TimeProvider time,
    ILogger<SmtpOAuthTokens> log, AccountMetrics? metrics = null)
{
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(1);
    /// <summary>How long a token is kept when the endpoint does not say (expires_in is only RECOMMENDED).</summary>
    public static readonly TimeSpan AssumedLifetime = TimeSpan.FromMinutes(5);

    private readonly Lock _gate = new();
    private AccessToken? _current;
    private Task<AccessToken>? _refresh;
    // Microsoft rotates refresh tokens: the newest one is kept for this instance's life.
    private string _refreshToken = settings.RefreshToken;

    /// <summary>Not a record: its ToString would print the token.</summary>
    private sealed class AccessToken(string value, DateTimeOffset refreshAt)
    {
        public string Value { get; } = value;
        public DateTimeOffset RefreshAt { get; } = refreshAt;
    }

    public async Task<string> GetAsync(CancellationToken ct)
    {
        Task<AccessToken> refresh;
        lock (_gate)
        {
            if (_current is { } current && time.GetUtcNow() < current.RefreshAt) return current.Value;
            if (_refresh is null || _refresh.IsCompleted) _refresh = RefreshAsync();
            refresh = _refresh;
        }
        // One caller giving up does not cancel the refresh the others wait for.
        return (await refresh.WaitAsync(ct)).Value;
    }

    /// <summary>The SMTP server refused this token: unless a newer one already replaced it, the next caller refreshes.</summary>
    public void Reject(string token)
    {
        lock (_gate)
            if (_current?.Value == token) _current = null;
    }

    private async Task<AccessToken> RefreshAsync()
    {
        await Task.Yield(); // never run the request inside GetAsync's lock
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = _refreshToken,
            ["client_id"] = settings.ClientId,
        };
        if (settings.ClientSecret is { } secret) form["client_secret"] = secret;
        if (settings.Scope is { Length: > 0 } scope) form["scope"] = scope;

        HttpResponseMessage response;
        JsonElement body;
        try
        {
            response = await http.PostAsync(settings.TokenEndpoint, new FormUrlEncodedContent(form));
            body = await ReadJsonAsync(response);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            metrics?.SmtpOAuth("refresh_failed");
            log.LogWarning("SMTP OAuth: the token endpoint {Endpoint} could not be reached ({Error})", settings.TokenEndpoint.GetLeftPart(UriPartial.Path), e.GetType().Name);
            throw new SmtpOAuthException(SmtpOAuthException.TokenEndpointFailed,
                $"The OAuth token endpoint could not be reached ({e.GetType().Name}).", e);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                var error = SafeCode(body, "error");
                if (error == "invalid_grant")
                {
                    // The provider no longer honours the refresh token (consent revoked, password
                    // changed, expired): only a person can fix this, by getting a new one.
                    metrics?.SmtpOAuth("refresh_refused");
                    log.LogError("SMTP OAuth: the token endpoint refused the refresh token (HTTP {Status}, {OAuthError}): it was revoked or has expired. " +
                        "No email can be sent until Email__Smtp__OAuth__RefreshToken holds a new one (docs/email.md)", status, error);
                    throw new SmtpOAuthException(SmtpOAuthException.RefreshTokenRefused,
                        $"The OAuth token endpoint refused the refresh token (HTTP {status}, {error}): it was revoked or has expired.");
                }
                metrics?.SmtpOAuth("refresh_failed");
                log.LogError("SMTP OAuth: the token endpoint answered HTTP {Status} ({OAuthError}) to the refresh", status, error);
                throw new SmtpOAuthException(SmtpOAuthException.TokenEndpointFailed,
                    $"The OAuth token endpoint answered HTTP {status} ({error}).");
            }

            var value = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("access_token", out var a) && a.ValueKind == JsonValueKind.String
                ? a.GetString() : null;
            var type = SafeCode(body, "token_type");
            if (string.IsNullOrEmpty(value) || !type.Equals("bearer", StringComparison.OrdinalIgnoreCase))
            {
                metrics?.SmtpOAuth("refresh_failed");
                log.LogError("SMTP OAuth: the token endpoint's answer has no bearer access_token (token_type {TokenType})", type);
                throw new SmtpOAuthException(SmtpOAuthException.TokenEndpointFailed, "The OAuth token endpoint's answer has no bearer access_token.");
            }

            var lifetime = ExpiresIn(body) ?? AssumedLifetime;
            var margin = lifetime / 2 < RefreshMargin ? lifetime / 2 : RefreshMargin;
            var token = new AccessToken(value, time.GetUtcNow() + lifetime - margin);
            if (body.TryGetProperty("refresh_token", out var r) && r.ValueKind == JsonValueKind.String
                && r.GetString() is { Length: > 0 } rotated && rotated != _refreshToken)
            {
                _refreshToken = rotated;
                log.LogInformation("SMTP OAuth: the token endpoint issued a new refresh token; this instance uses it from now on");
            }
            lock (_gate) _current = token;
            metrics?.SmtpOAuth("refreshed");
            log.LogInformation("SMTP OAuth: new access token, valid for {Lifetime}", lifetime);
            return token;
        }
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try { return JsonDocument.Parse(text).RootElement.Clone(); }
        catch (JsonException) { return default; }
    }

    private static TimeSpan? ExpiresIn(JsonElement body)
    {
        if (!body.TryGetProperty("expires_in", out var e)) return null;
        // A number (RFC 6749); older Entra ID endpoints sent a string.
        long seconds = 0;
        var ok = e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetInt64(out seconds),
            JsonValueKind.String => long.TryParse(e.GetString(), out seconds),
            _ => false,
        };
        return ok && seconds > 0 ? TimeSpan.FromSeconds(Math.Min(seconds, 86400)) : null;
    }

    /// <summary>An OAuth code from the body (error, token_type) fit for a log line; anything else is "unknown".</summary>
    private static string SafeCode(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            && v.GetString() is { } s && CodePattern().IsMatch(s) ? s : "unknown";

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex CodePattern();
}
