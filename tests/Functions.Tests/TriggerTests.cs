using System.Net;
using System.Text.Json;
using AccountFunctions.Core.Email;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// The queue and timer functions as the host drives them: the host polls the email queue, retries
/// a failed message after host.json's visibility timeout (shortened here with an
/// <c>AzureFunctionsJobHost__</c> setting, as Azure allows), poisons it after maxDequeueCount,
/// and runs the sweep on its schedule or through the admin API.
/// </summary>
public sealed class TriggerFixture : AppFixture
{
    protected override bool FakeClock => true;
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:00.050",
    };
}

public sealed class TriggerTests(TriggerFixture fixture) : IClassFixture<TriggerFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task AMessageDeliveredTwiceSendsOneEmail()
    {
        var email = TestApp.NewEmail();
        await App.SignupAsync(email);
        var message = await OneOutboxMessageAsync(email);

        await App.Storage.Outbox.SendMessageAsync(JsonSerializer.Serialize(message, Outbox.Json));
        await WaitForEmptyQueueAsync();

        Assert.Single(App.Mail.To(email));
    }

    [Fact]
    public async Task AFailingTransportIsRetriedByTheQueueAndTheEmailArrivesOnce()
    {
        var email = TestApp.NewEmail();
        var before = App.Mail.Requests;
        App.Mail.FailNext(2);

        await App.SignupAsync(email);
        await WaitForEmptyQueueAsync();

        Assert.Single(App.Mail.To(email));
        Assert.True(App.Mail.Requests - before >= 3, "two failed tries, then the one that sent");
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"accountId": 5}""")]
    [InlineData("\"just a string\"")]
    [InlineData("""{"accountId": "nobody", "messageId": ""}""")]
    public async Task AMessageTheFunctionCannotUseIsRetriedThenPoisoned(string text)
    {
        await App.Storage.ReadyAsync();
        var marker = Guid.NewGuid().ToString("N");
        var body = text.Replace("nobody", "nobody" + marker);
        await App.Storage.Outbox.SendMessageAsync(body);

        var poisoned = await WaitForPoisonAsync(m => m.MessageText == body);

        Assert.Equal(body, poisoned.MessageText);
    }

    [Fact]
    public async Task TheAdminApiRunsTheSweepWhichLocksAnUnconfirmedAccount()
    {
        var email = TestApp.NewEmail("late");
        await App.SignupAsync(email);
        App.Clock!.Advance(TimeSpan.FromDays(3) + TimeSpan.FromSeconds(1));

        var run = await App.RunFunctionAsync("LockoutSweep");

        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string? code = null;
        while (DateTime.UtcNow < deadline && code != "account_locked")
        {
            code = await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password }));
            if (code != "account_locked") await Task.Delay(100);
        }
        Assert.Equal("account_locked", code);
    }

    [Fact]
    public async Task TheAdminApiNeedsTheMasterKey()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/functions/LockoutSweep") { Content = new StringContent("{}") };
        request.Headers.Add("x-functions-key", App.FunctionKey);

        var response = await App.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private async Task<OutboxMessage> OneOutboxMessageAsync(string email)
    {
        await App.Mail.WaitForAsync(email);
        var mail = App.Mail.To(email).Single();
        var rows = App.Storage.Accounts.QueryAsync<Core.Storage.OutboxRow>(r => r.RowKey == Core.Storage.OutboxRow.Prefix + mail.OutboxId);
        await foreach (var row in rows) return new OutboxMessage(row.AccountId, row.MessageId);
        throw new InvalidOperationException("No outbox row.");
    }

    /// <summary>Until the queue holds no message, visible or not: every message was handled and deleted.</summary>
    private async Task WaitForEmptyQueueAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await App.Storage.Outbox.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The email queue was not drained.");
            await Task.Delay(50);
        }
    }

    private async Task<Azure.Storage.Queues.Models.PeekedMessage> WaitForPoisonAsync(Func<Azure.Storage.Queues.Models.PeekedMessage, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await App.Storage.OutboxPoison.ExistsAsync())
                foreach (var m in (await App.Storage.OutboxPoison.PeekMessagesAsync(32)).Value)
                    if (match(m)) return m;
            await Task.Delay(100);
        }
        throw new TimeoutException("The message did not reach the poison queue.");
    }
}

public sealed class PoisonFixture : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:00.050",
    };
}

public sealed class PoisonTests(PoisonFixture fixture) : IClassFixture<PoisonFixture>
{
    [Fact]
    public async Task AMessageThatFailsFiveTimesGoesToThePoisonQueueAndStaysRecordedUnsent()
    {
        var app = fixture.App;
        app.Mail.FailNext(1000);
        var email = TestApp.NewEmail();

        Assert.Equal(HttpStatusCode.Accepted, (await app.PostAsync("/api/signup", new { email, password = TestApp.Password })).StatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        Azure.Storage.Queues.Models.PeekedMessage[] poisoned = [];
        while (DateTime.UtcNow < deadline && poisoned.Length == 0)
        {
            await Task.Delay(200);
            if (await app.Storage.OutboxPoison.ExistsAsync()) poisoned = (await app.Storage.OutboxPoison.PeekMessagesAsync(10)).Value;
        }
        app.Mail.FailNext(0);
        Assert.Single(poisoned);
        Assert.Equal(5, app.Mail.Requests);
        Assert.Empty(app.Mail.To(email));
        var message = JsonSerializer.Deserialize<OutboxMessage>(poisoned[0].MessageText, Outbox.Json)!;
        var row = (await app.Storage.Accounts.GetEntityAsync<Core.Storage.OutboxRow>(message.AccountId, Core.Storage.OutboxRow.Prefix + message.MessageId)).Value;
        Assert.Equal(Core.Storage.OutboxStatus.Pending, row.Status);
        Assert.Equal(5, row.Attempts);

        // Replaying the poisoned message (docs/operations.md) delivers it.
        await app.Storage.Outbox.SendMessageAsync(poisoned[0].MessageText);
        await app.Mail.WaitForAsync(email);
    }
}
