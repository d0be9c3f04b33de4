using System.Diagnostics;
using System.Net;
using System.Text.Json;
using AccountFunctions.Core.Email;
using AccountFunctions.Functions.Tests.Support;
using AccountFunctions.Functions.Triggers;

namespace AccountFunctions.Functions.Tests;

/// <summary>What the Functions host does to the handler: readiness, invocation payloads, retries, poison.</summary>
public sealed class HostProtocolTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task RootAnswers200ForTheHostsReadinessPoll()
    {
        var response = await App.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ExecutableListensOnFunctionsCustomHandlerPort()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "AccountFunctions.dll");
        var port = Repo.FreePort();
        var info = new ProcessStartInfo("dotnet", $"\"{dll}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString();
        info.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:1"; // the host's port wins over this
        info.Environment["AzureWebJobsStorage"] = (await Azurite.GetAsync()).ConnectionString;
        using var process = Process.Start(info)!;
        try
        {
            await Repo.WaitForPortAsync(port, process, "AccountFunctions");
            using var http = new HttpClient();
            var response = await http.GetAsync($"http://127.0.0.1:{port}/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            Repo.Kill(process);
        }
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public async Task SendEmailAcceptsTheHostsPayloadInEitherEncoding(bool messageAsString, bool countAsString)
    {
        var email = TestApp.NewEmail();
        await App.SignupAsync(email);
        var message = await OneOutboxMessageAsync(email);
        var messageJson = JsonSerializer.Serialize(message, Outbox.Json);
        var messageValue = messageAsString ? JsonSerializer.Serialize(messageJson) : messageJson;
        var count = countAsString ? "\"1\"" : "1";
        var payload = "{\"Data\": {\"message\": " + messageValue + "}, \"Metadata\": {\"DequeueCount\": " + count
            + ", \"Id\": \"abc\", \"sys\": {\"MethodName\": \"SendEmail\"}}}";

        var response = await App.PostRawAsync("/SendEmail", payload);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await TestApp.Body(response);
        Assert.Equal(JsonValueKind.Object, body.GetProperty("Outputs").ValueKind);
        Assert.Equal(JsonValueKind.Array, body.GetProperty("Logs").ValueKind);
        // Already sent by the local queue runner, or sent now: either way exactly one email.
        Assert.Contains(body.GetProperty("ReturnValue").GetString(), new[] { "sent", "already_sent" });
        await Task.Delay(300);
        Assert.Single(App.Mail.To(email));
    }

    [Fact]
    public async Task SendEmailCalledTwiceForOneOutboxRowSendsOnce()
    {
        var email = TestApp.NewEmail();
        await App.SignupAsync(email);
        var message = await OneOutboxMessageAsync(email);
        var payload = JsonSerializer.Serialize(new { Data = new { message = JsonSerializer.Serialize(message, Outbox.Json) }, Metadata = new { DequeueCount = "2" } });

        var first = await TestApp.Body(await App.PostRawAsync("/SendEmail", payload));
        var second = await TestApp.Body(await App.PostRawAsync("/SendEmail", payload));

        Assert.Equal("already_sent", second.GetProperty("ReturnValue").GetString());
        Assert.Equal("already_sent", first.GetProperty("ReturnValue").GetString());
        Assert.Single(App.Mail.To(email));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"Data": {}}""")]
    [InlineData("""{"Data": {"message": "{\"accountId\": 5}"}}""")]
    [InlineData("""{"Data": {"message": "\"just a string\""}}""")]
    public async Task SendEmailAnswersNon2xxForAPayloadItCannotUseSoTheHostRetries(string payload)
    {
        var response = await App.PostRawAsync("/SendEmail", payload);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var body = await TestApp.Body(response);
        Assert.NotEmpty(body.GetProperty("Logs").EnumerateArray());
    }

    [Fact]
    public async Task LockoutSweepAnswersTheInvocationProtocol()
    {
        var payload = """{"Data":{"timer":"{\"Schedule\":{\"AdjustForDST\":true},\"IsPastDue\":false}"},"Metadata":{"sys":{"MethodName":"LockoutSweep"}}}""";

        var response = await App.PostRawAsync("/LockoutSweep", payload);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await TestApp.Body(response);
        Assert.True(body.GetProperty("ReturnValue").TryGetProperty("locked", out _));
    }

    [Fact]
    public async Task AFailingTransportIsRetriedByTheQueueAndTheEmailArrivesOnce()
    {
        var email = TestApp.NewEmail();
        App.Mail.FailNext(2);

        await App.SignupAsync(email);
        await Task.Delay(500);

        Assert.Single(App.Mail.To(email));
    }

    [Fact]
    public void HostInvocationUnwrapsDoubleEncodedValues()
    {
        Assert.True(HostInvocation.TryParse("""{"Data":{"message":"\"{\\\"a\\\":1}\""},"Metadata":{"DequeueCount":"3"}}""", out var inv, out _));
        Assert.Equal(1, inv.Binding("message")!.Value.GetProperty("a").GetInt32());
        Assert.Equal(3, inv.DequeueCount);
        Assert.True(HostInvocation.TryParse("""{"Data":{"message":{"a":2}},"Metadata":{"DequeueCount":4}}""", out inv, out _));
        Assert.Equal(2, inv.Binding("message")!.Value.GetProperty("a").GetInt32());
        Assert.Equal(4, inv.DequeueCount);
        Assert.False(HostInvocation.TryParse("[1,2", out _, out var error));
        Assert.NotNull(error);
    }

    private async Task<OutboxMessage> OneOutboxMessageAsync(string email)
    {
        await App.Mail.WaitForAsync(email);
        var mail = App.Mail.To(email).Single();
        var rows = App.Storage.Accounts.QueryAsync<Core.Storage.OutboxRow>(r => r.RowKey == Core.Storage.OutboxRow.Prefix + mail.OutboxId);
        await foreach (var row in rows) return new OutboxMessage(row.AccountId, row.MessageId);
        throw new InvalidOperationException("No outbox row.");
    }
}

public sealed class PoisonFixture : AppFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Triggers:RetryDelay"] = "00:00:00.050" };
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
            poisoned = (await app.Storage.OutboxPoison.PeekMessagesAsync(10)).Value;
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
