using System.Net;
using System.Text.Json;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// The app with Email__Smtp__Auth=OAuth2 against a local token endpoint and a local SMTP server that
/// takes only XOAUTH2 with a token the endpoint issued and still honours. The app's clock is fake,
/// so a token's age is set by the test; the queue retries after 50 ms.
/// </summary>
public sealed class SmtpOAuthFixture : IAsyncLifetime
{
    public const string Mailbox = "mailer@example.test";
    public const string Scope = "https://mail.google.com/";
    public FakeOAuthTokenEndpoint Tokens { get; private set; } = null!;
    public FakeXoauth2SmtpServer Smtp { get; private set; } = null!;
    public LogCapture Logs { get; } = new();
    public TestApp App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tokens = await FakeOAuthTokenEndpoint.StartAsync();
        Smtp = new FakeXoauth2SmtpServer(Tokens.Accepts, Mailbox);
        App = await TestApp.StartAsync(new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:00.050",
            ["Email__Transport"] = "Smtp",
            ["Email__From"] = Mailbox,
            ["Email__Smtp__Host"] = "127.0.0.1",
            ["Email__Smtp__Port"] = Smtp.Port.ToString(),
            ["Email__Smtp__Security"] = "None",
            ["Email__Smtp__Auth"] = "OAuth2",
            ["Email__Smtp__Username"] = Mailbox,
            ["Email__Smtp__OAuth__TokenEndpoint"] = Tokens.TokenUrl,
            ["Email__Smtp__OAuth__ClientId"] = Tokens.ClientId,
            ["Email__Smtp__OAuth__ClientSecret"] = Tokens.ClientSecret,
            ["Email__Smtp__OAuth__RefreshToken"] = Tokens.RefreshToken,
            ["Email__Smtp__OAuth__Scope"] = Scope,
        }, fakeClock: true, configure: b =>
        {
            b.Logging.AddProvider(Logs);
            b.Logging.SetMinimumLevel(LogLevel.Trace);
        });
    }

    public async Task DisposeAsync()
    {
        if (App is not null) await App.DisposeAsync();
        if (Smtp is not null) await Smtp.DisposeAsync();
        if (Tokens is not null) await Tokens.DisposeAsync();
    }
}

public sealed class SmtpOAuthTests(SmtpOAuthFixture fixture) : IClassFixture<SmtpOAuthFixture>, IDisposable
{
    private TestApp App => fixture.App;
    private FakeOAuthTokenEndpoint Tokens => fixture.Tokens;
    private FakeXoauth2SmtpServer Smtp => fixture.Smtp;

    // Every test starts from a working provider whatever the one before did.
    public void Dispose()
    {
        Tokens.Revoked = false;
        Tokens.Release();
    }

    [Fact]
    public async Task MailIsDeliveredThroughXoauth2WithAFreshAccessToken()
    {
        NoGoodTokenLeft();
        var before = Tokens.Refreshes;
        var email = TestApp.NewEmail("oauth");

        await SignupAsync(email);
        var got = Assert.Single(await Smtp.WaitForAsync(email));

        Assert.Equal(before + 1, Tokens.Refreshes);
        Assert.Equal(SmtpOAuthFixture.Mailbox, got.AuthUser);
        Assert.Equal(Tokens.Latest, got.Token);
        Assert.Equal(SmtpOAuthFixture.Scope, Tokens.LastScope);
        Assert.Equal(SmtpOAuthFixture.Mailbox, got.MailFrom);
        Assert.Equal("Confirm your email address", got.Message.Subject);
        Assert.EndsWith("@account-functions", got.Message.MessageId);
        var code = System.Text.RegularExpressions.Regex.Match(got.Message.TextBody ?? "", @"code: (\d{6})").Groups[1].Value;
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { email, code })).StatusCode);
    }

    [Fact]
    public async Task TheAccessTokenIsKeptUntilAMinuteBeforeItExpiresThenRefreshedBeforeTheServerRefusesIt()
    {
        NoGoodTokenLeft();
        var first = await SendOneAsync();
        var refreshes = Tokens.Refreshes;
        var refused = Smtp.Refused;

        // 300 s tokens are refreshed 60 s before they expire: at 239 s the token is still used...
        App.Clock!.Advance(TimeSpan.FromSeconds(Tokens.ExpiresIn - 60 - 1));
        var second = await SendOneAsync();
        Assert.Equal(first.Token, second.Token);
        Assert.Equal(refreshes, Tokens.Refreshes);

        // ...at 241 s a new one is fetched first, so the provider retiring the old one is never seen.
        Tokens.ExpireAll();
        App.Clock.Advance(TimeSpan.FromSeconds(2));
        var third = await SendOneAsync();
        Assert.NotEqual(first.Token, third.Token);
        Assert.Equal(refreshes + 1, Tokens.Refreshes);
        Assert.Equal(refused, Smtp.Refused);
    }

    [Fact]
    public async Task AnExpiredAccessTokenIsRefreshedAndTheSendSucceeds()
    {
        var first = await SendOneAsync();
        var refreshes = Tokens.Refreshes;
        var refused = Smtp.Refused;
        Tokens.ExpireAll();
        App.Clock!.Advance(TimeSpan.FromSeconds(Tokens.ExpiresIn + 1));

        var next = await SendOneAsync();

        Assert.NotEqual(first.Token, next.Token);
        Assert.Equal(refreshes + 1, Tokens.Refreshes);
        Assert.Equal(refused, Smtp.Refused);
    }

    [Fact]
    public async Task ParallelSendsWithNoUsableTokenShareOneRefresh()
    {
        NoGoodTokenLeft();
        var before = Tokens.Refreshes;
        Tokens.Hold();
        var emails = Enumerable.Range(0, 6).Select(_ => TestApp.NewEmail("parallel")).ToArray();

        await Task.WhenAll(emails.Select(SignupAsync));
        // Every email has taken its send lease (it is inside the transport) while the one refresh is held.
        await WaitForAsync(async () => (await OutboxRowsAsync(emails)).Count(r => r.Status == OutboxStatus.Sending) == emails.Length,
            "all six emails in the transport at once");
        Assert.Equal(before + 1, Tokens.Refreshes);
        Tokens.Release();

        var sent = new List<SmtpReceived>();
        foreach (var email in emails) sent.Add(Assert.Single(await Smtp.WaitForAsync(email)));
        Assert.Equal(before + 1, Tokens.Refreshes);
        Assert.Single(sent.Select(s => s.Token).Distinct());
    }

    [Fact]
    public async Task ATokenTheServerNoLongerAcceptsIsRefreshedOnceAndTheSendRetried()
    {
        var first = await SendOneAsync();
        var refreshes = Tokens.Refreshes;
        var attempts = Smtp.AuthAttempts.Count;
        var connections = Smtp.Connections;
        // The provider retired the token though the app's clock says it is still good.
        Tokens.ExpireAll();

        var next = await SendOneAsync();

        Assert.Equal(refreshes + 1, Tokens.Refreshes);
        var tries = Smtp.AuthAttempts.Skip(attempts).ToArray();
        Assert.Equal([(first.Token, false), (next.Token, true)], tries.Select(a => (a.Token, a.Accepted)));
        Assert.NotEqual(first.Token, next.Token);
        Assert.Equal(connections + 1, Smtp.Connections); // the retry is on the same connection, not a new send
    }

    [Fact]
    public async Task ARevokedRefreshTokenEndsInThePoisonQueueWithNothingSentAndALogLineAndMetricSayingWhy()
    {
        using var meters = new MeterCapture(App.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        NoGoodTokenLeft();
        Tokens.Revoked = true;
        var refreshes = Tokens.Refreshes;
        var connections = Smtp.Connections;
        var email = TestApp.NewEmail("revoked");

        await SignupAsync(email);
        var row = await WaitForPoisonedAsync(email);

        Assert.Equal(5, row.Attempts);
        Assert.Equal(OutboxStatus.Pending, row.Status);
        Assert.Contains("invalid_grant", row.LastError);
        Assert.Equal(refreshes + 5, Tokens.Refreshes); // each try asked again: a refused refresh is not kept
        Assert.Equal(connections, Smtp.Connections);   // and none of them opened an SMTP connection
        Assert.Empty(Smtp.To(email));
        Assert.Contains(fixture.Logs.Lines, l => l.Level == LogLevel.Error && l.Category.EndsWith(nameof(SmtpOAuthTokens))
            && l.Text.Contains("refused the refresh token") && l.Text.Contains("invalid_grant"));
        Assert.Equal(5, meters["accounts.smtp_oauth;event=refresh_refused"]);
        Assert.Equal(5, meters["accounts.emails;outcome=failed"]);
        Assert.Equal(1, meters["accounts.emails;outcome=poisoned"]);

        // A new refresh token (here: the provider honours it again) and a replay deliver it.
        Tokens.Revoked = false;
        var poisoned = (await App.Storage.OutboxPoison.PeekMessagesAsync(32)).Value
            .First(m => JsonSerializer.Deserialize<OutboxMessage>(m.MessageText, Outbox.Json)!.MessageId == row.MessageId);
        await App.Storage.Outbox.SendMessageAsync(poisoned.MessageText);
        Assert.Single(await Smtp.WaitForAsync(email));
    }

    [Fact]
    public async Task NoAccessTokenRefreshTokenOrClientSecretAppearsInLogsProblemResponsesOrTheOutbox()
    {
        // A fresh token, a refused one and its retry, then a revoked refresh token to the poison queue.
        NoGoodTokenLeft();
        var ok = await SendOneAsync();
        Tokens.ExpireAll();
        var retried = await SendOneAsync();
        NoGoodTokenLeft();
        Tokens.Revoked = true;
        var revoked = TestApp.NewEmail("leak");
        await SignupAsync(revoked);
        var poisonedRow = await WaitForPoisonedAsync(revoked);
        Tokens.Revoked = false;

        var answers = new List<string>();
        foreach (var response in new[]
        {
            await App.PostAsync("/api/signup", new { email = "not an address", password = "x" }),
            await App.PostAsync("/api/login", new { identifier = ok.RcptTo[0], password = "wrong password" }),
            await App.GetAsync("/api/me", bearer: Tokens.Latest),
            await App.GetAsync("/api/health"),
        })
            answers.Add(await response.Content.ReadAsStringAsync());

        var secrets = Tokens.Issued.Concat([Tokens.RefreshToken, Tokens.ClientSecret]).ToArray();
        Assert.True(secrets.Length >= 4, "tokens were issued");
        var lines = fixture.Logs.Lines.ToArray();
        Assert.Contains(lines, l => l.Text.Contains("refused the access token"));   // the capture saw the 535...
        Assert.Contains(lines, l => l.Text.Contains("refused the refresh token"));  // ...and the revoked refresh token
        // Not the whole value, and no piece of it either: any 10 characters of the random part.
        var pieces = secrets.SelectMany(s => Enumerable.Range(0, (s.Length - 10) / 2 + 1).Select(i => s.Substring(i * 2, 10)))
            .Where(p => !p.StartsWith("ya29.") && !p.StartsWith("GOCSPX-") && !p.StartsWith("1//0g")).Distinct().ToArray();
        foreach (var piece in pieces)
        {
            foreach (var line in lines) Assert.False(line.Text.Contains(piece), $"[{line.Category}] leaks a secret: {line.Text}");
            foreach (var answer in answers) Assert.DoesNotContain(piece, answer);
            Assert.DoesNotContain(piece, poisonedRow.LastError ?? "");
        }
        Assert.NotEqual(ok.Token, retried.Token);
    }

    /// <summary>Whatever token the app holds, the provider no longer honours it and the app's clock says it expired.</summary>
    private void NoGoodTokenLeft()
    {
        Tokens.ExpireAll();
        App.Clock!.Advance(TimeSpan.FromSeconds(Tokens.ExpiresIn + 1));
    }

    private async Task SignupAsync(string email)
    {
        var response = await App.PostAsync("/api/signup", new { email, password = TestApp.Password });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private async Task<SmtpReceived> SendOneAsync()
    {
        var email = TestApp.NewEmail("oauth");
        await SignupAsync(email);
        return Assert.Single(await Smtp.WaitForAsync(email));
    }

    private async Task<List<OutboxRow>> OutboxRowsAsync(IEnumerable<string> emails)
    {
        var to = emails.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var rows = new List<OutboxRow>();
        await foreach (var row in App.Storage.Accounts.QueryAsync<OutboxRow>(r => r.RowKey.CompareTo(OutboxRow.Prefix) >= 0 && r.RowKey.CompareTo("outbox.") < 0))
            if (to.Contains(row.To)) rows.Add(row);
        return rows;
    }

    /// <summary>The outbox row of the email's message once that message is in the poison queue.</summary>
    private async Task<OutboxRow> WaitForPoisonedAsync(string email)
    {
        OutboxRow? row = null;
        await WaitForAsync(async () =>
        {
            row ??= (await OutboxRowsAsync([email])).SingleOrDefault();
            if (row is null || !await App.Storage.OutboxPoison.ExistsAsync()) return false;
            return (await App.Storage.OutboxPoison.PeekMessagesAsync(32)).Value
                .Any(m => JsonSerializer.Deserialize<OutboxMessage>(m.MessageText, Outbox.Json)?.MessageId == row.MessageId);
        }, "the message in the poison queue");
        return (await OutboxRowsAsync([email])).Single();
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}
