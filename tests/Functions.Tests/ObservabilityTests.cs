using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using AccountFunctions.Core.Operations;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpNet;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// A full flow with every log line captured: no secret (password, emailed tokens and codes,
/// access and refresh tokens, TOTP secret) and no full email address in any line or scope; request
/// lines carry the invocation and correlation ids. The same flow moves the AccountFunctions counters.
/// </summary>
public sealed class ObservabilityTests
{
    private sealed record Line(string Category, LogLevel Level, string Text, IReadOnlyDictionary<string, object?> Scope);

    private sealed class Capture : ILoggerProvider, ISupportExternalScope
    {
        public readonly ConcurrentQueue<Line> Lines = new();
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();
        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;
        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
        public void Dispose() { }

        private sealed class Logger(Capture owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scope = new Dictionary<string, object?>();
                var text = formatter(state, exception) + " " + exception;
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                    foreach (var (k, v) in values) text += $" {k}={v}";
                owner._scopes.ForEachScope((s, _) =>
                {
                    if (s is IEnumerable<KeyValuePair<string, object?>> pairs) foreach (var (k, v) in pairs) scope[k] = v;
                    else text += " scope=" + s;
                }, (object?)null);
                foreach (var (k, v) in scope) text += $" {k}={v}";
                owner.Lines.Enqueue(new Line(category, logLevel, text, scope));
            }
        }
    }

    [Fact]
    public async Task AFullFlowLogsNoSecretAndNoAddressAndCountsItsEvents()
    {
        var capture = new Capture();
        await using var app = await TestApp.StartAsync(configure: b =>
        {
            b.Logging.AddProvider(capture);
            b.Logging.SetMinimumLevel(LogLevel.Trace);
        });
        var counts = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        var factory = app.Services.GetRequiredService<IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AccountMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name + string.Concat(tags.ToArray().OrderBy(t => t.Key).Select(t => $";{t.Key}={t.Value}"));
            counts.AddOrUpdate(key, value, (_, v) => v + value);
        });
        listener.Start();

        var secrets = new List<string>();
        var email = TestApp.NewEmail("logs");
        const string password = "a very private passphrase 42";
        const string newPassword = "another private passphrase 43";
        secrets.AddRange([email, password, newPassword]);

        var signupMail = await app.SignupAsync(email, password);
        secrets.Add(signupMail.Token!); secrets.Add(signupMail.Code!);
        Assert.Equal(HttpStatusCode.OK, (await app.PostAsync("/api/email/verify", new { email, code = signupMail.Code })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.PostAsync("/api/login", new { identifier = email, password = "wrong " + password })).StatusCode);

        using var correlated = new HttpRequestMessage(HttpMethod.Post, "/api/login") { Content = JsonContent.Create(new { identifier = email, password }) };
        correlated.Headers.Add("X-Correlation-Id", "corr-test-123");
        var loginResponse = await app.Http.SendAsync(correlated);
        Assert.Equal(HttpStatusCode.OK, loginResponse.StatusCode);
        Assert.Equal("corr-test-123", loginResponse.Headers.GetValues("X-Correlation-Id").Single());
        var login = await TestApp.Body(loginResponse);
        var access = login.GetProperty("accessToken").GetString()!;
        var refresh = login.GetProperty("refreshToken").GetString()!;
        secrets.AddRange([access, refresh]);

        var refreshed = await TestApp.Body(await app.PostAsync("/api/token/refresh", new { refreshToken = refresh }));
        access = refreshed.GetProperty("accessToken").GetString()!;
        secrets.AddRange([access, refreshed.GetProperty("refreshToken").GetString()!]);

        var setup = await TestApp.Body(await app.PostAsync("/api/me/mfa/totp", new { }, access));
        var secret = setup.GetProperty("secret").GetString()!;
        secrets.Add(secret);
        var totp = new Totp(Base32Encoding.ToBytes(secret)).ComputeTotp(DateTime.UtcNow);
        var confirm = await app.PostAsync("/api/me/mfa/totp/confirm", new { code = totp }, access);
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        secrets.AddRange((await TestApp.Body(confirm)).GetProperty("recoveryCodes").EnumerateArray().Select(c => c.GetString()!));

        var before = app.Mail.To(email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostAsync("/api/password/forgot", new { email })).StatusCode);
        var reset = (await app.Mail.WaitForAsync(email, before + 1))[before];
        secrets.Add(reset.Token!);
        Assert.Equal(HttpStatusCode.NoContent, (await app.PostAsync("/api/password/reset", new { token = reset.Token, newPassword })).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await app.PostAsync("/api/login/email", new { email })).StatusCode);
        SentEmail? magic = null;
        for (var n = app.Mail.To(email).Count; magic is null; n++) // the reset notice may arrive in between
            magic = (await app.Mail.WaitForAsync(email, n + 1)).FirstOrDefault(m => m.Link?.Contains("/account/magic") == true);
        secrets.Add(magic.Token!);
        if (magic.Code is { } magicCode) secrets.Add(magicCode);
        var redeemed = await TestApp.Body(await app.PostAsync("/api/login/email/redeem", new { token = magic.Token }));
        Assert.True(redeemed.GetProperty("mfaRequired").GetBoolean()); // MFA is on now
        secrets.Add(redeemed.GetProperty("mfaToken").GetString()!);

        // Every email so far went through the outbox and was logged as sent; no line may hold them.
        foreach (var mail in app.Mail.To(email))
        {
            if (mail.Token is { } t) secrets.Add(t);
            if (mail.Code is { } c) secrets.Add(c);
        }

        var lines = capture.Lines.ToArray();
        Assert.True(lines.Length > 20, $"only {lines.Length} lines captured");
        foreach (var line in lines)
            foreach (var s in secrets.Distinct())
                Assert.False(line.Text.Contains(s, StringComparison.OrdinalIgnoreCase), $"[{line.Category}] leaks a secret or the address: {line.Text}");

        var requests = lines.Where(l => l.Category == "AccountFunctions.Requests").ToArray();
        Assert.True(requests.Length >= 10);
        Assert.All(requests, r => Assert.Matches("^[A-Za-z0-9._:-]{1,64}$", r.Scope["CorrelationId"]!.ToString()!));
        var correlatedLines = lines.Where(l => l.Scope.TryGetValue("CorrelationId", out var c) && (string?)c == "corr-test-123").ToArray();
        Assert.Contains(correlatedLines, l => l.Category == "AccountFunctions.Requests" && l.Text.Contains("POST /api/login answered 200"));
        Assert.Contains(correlatedLines, l => l.Text.Contains("signed in")); // the service's own line, in the request's scope
        // One invocation of the host's, named on every line of it.
        var invocation = Assert.Single(correlatedLines.Select(l => l.Scope["InvocationId"]?.ToString()).Distinct());
        Assert.True(Guid.TryParse(invocation, out _), $"invocation id {invocation}");
        Assert.Contains(lines, l => l.Scope.ContainsKey("QueueMessageId") && l.Scope.ContainsKey("InvocationId") && l.Text.Contains("Sent "));
        Assert.All(requests, r => Assert.True(r.Scope.ContainsKey("InvocationId")));

        listener.RecordObservableInstruments();
        Assert.Equal(1, counts.GetValueOrDefault("accounts.signups"));
        Assert.Equal(1, counts.GetValueOrDefault("accounts.logins;method=password;outcome=ok"));
        Assert.Equal(1, counts.GetValueOrDefault("accounts.logins;method=password;outcome=failed"));
        Assert.True(counts.GetValueOrDefault("accounts.emails;outcome=sent") >= 3, string.Join(", ", counts));
    }

    [Theory]
    [InlineData("abc-123", "abc-123")]
    [InlineData("has space", null)]
    [InlineData("", null)]
    [InlineData("<script>", null)]
    public void AnIncomingCorrelationIdIsKeptOnlyWhenWellFormed(string incoming, string? kept)
    {
        var id = Hosting.EdgeMiddleware.CorrelationId(incoming);
        if (kept is not null) Assert.Equal(kept, id);
        else { Assert.NotEqual(incoming, id); Assert.Matches("^[0-9a-f]{32}$", id); }
    }
}
