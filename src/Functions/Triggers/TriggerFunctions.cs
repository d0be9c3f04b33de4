using System.Text.Json;
using System.Text.Json.Nodes;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Lockout;

namespace AccountFunctions.Functions.Triggers;

public sealed record TriggerOutcome(bool Succeeded, JsonObject Body);

/// <summary>
/// The non-HTTP functions. The host reaches them through <c>POST /SendEmail</c> and
/// <c>POST /LockoutSweep</c>; without a host, LocalTriggers calls the same method with the same
/// payloads. A failure answers non-2xx so the host retries and finally poisons the message.
/// </summary>
public sealed class TriggerFunctions(IServiceProvider services, ILogger<TriggerFunctions> log)
{
    public const string SendEmail = "SendEmail";
    public const string LockoutSweep = "LockoutSweep";

    public async Task<TriggerOutcome> InvokeAsync(string function, string payload, CancellationToken ct)
    {
        var logs = new List<string>();
        if (!HostInvocation.TryParse(payload, out var invocation, out var parseError))
            return Fail(logs, parseError!);
        // Beside the request scope (X-Azure-Functions-InvocationId): the ids the payload carries.
        var scope = new Dictionary<string, object?> { ["Function"] = function };
        if (invocation.Metadata("InvocationId") is { Length: > 0 and <= 64 } invocationId) scope["TriggerInvocationId"] = invocationId;
        if (invocation.Metadata("Id") is { Length: > 0 and <= 64 } messageId) scope["QueueMessageId"] = messageId;
        using var _ = log.BeginScope(scope);
        try
        {
            JsonNode? result = function switch
            {
                SendEmail => await SendEmailAsync(invocation, logs, ct),
                LockoutSweep => await SweepAsync(logs, ct),
                _ => throw new InvalidOperationException($"Unknown function {function}."),
            };
            return new TriggerOutcome(true, HostInvocation.Response(logs, result));
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            log.LogWarning(e, "{Function} failed (dequeue count {DequeueCount})", function, invocation.DequeueCount);
            // The host (or LocalTriggers) moves the message to the poison queue after this try.
            if (function == SendEmail && invocation.DequeueCount >= services.GetRequiredService<TriggerOptions>().MaxDequeueCount)
                services.GetRequiredService<Core.Operations.AccountMetrics>().EmailPoisoned();
            return Fail(logs, $"{function} failed: {e.GetType().Name}: {e.Message}");
        }
    }

    private async Task<JsonNode?> SendEmailAsync(HostInvocation invocation, List<string> logs, CancellationToken ct)
    {
        var value = invocation.Binding("message") ?? throw new InvalidOperationException("Data.message is missing.");
        var message = value.Deserialize<OutboxMessage>(Outbox.Json)
            ?? throw new InvalidOperationException("The queue message is empty.");
        if (string.IsNullOrEmpty(message.AccountId) || string.IsNullOrEmpty(message.MessageId))
            throw new InvalidOperationException("The queue message lacks accountId or messageId.");
        var outcome = await services.GetRequiredService<EmailSender>().SendAsync(message, ct);
        logs.Add($"Outbox message {message.MessageId}: {outcome} (dequeue count {invocation.DequeueCount}).");
        return JsonValue.Create(outcome);
    }

    private async Task<JsonNode?> SweepAsync(List<string> logs, CancellationToken ct)
    {
        var result = await services.GetRequiredService<LockoutSweeper>().RunAsync(ct);
        logs.Add($"Sweep: {result.Locked} account(s) locked, {result.Replayed} email(s) re-enqueued.");
        return JsonSerializer.SerializeToNode(result, Outbox.Json);
    }

    private static TriggerOutcome Fail(List<string> logs, string message)
    {
        logs.Add(message);
        return new TriggerOutcome(false, HostInvocation.Response(logs, null));
    }
}
