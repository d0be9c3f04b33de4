using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Operations;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Email;

/// <summary>
/// Sends one outbox message. A failure throws, so the host makes the message visible again after
/// host.json's <c>visibilityTimeout</c> and, after <c>maxDequeueCount</c> tries, moves it to
/// <c>{queue}-poison</c>. Sending is idempotent for one outbox record (EmailSender leases and
/// marks it), so a message delivered twice sends one email.
/// </summary>
public sealed class SendEmailFunction(EmailSender sender, AccountMetrics metrics, HostSettings host, ILogger<SendEmailFunction> log)
{
    [Function("SendEmail")]
    public async Task<string> Run([QueueTrigger("%" + StorageOptions.OutboxQueueSetting + "%")] string message, FunctionContext context)
    {
        var dequeueCount = DequeueCount(context);
        try
        {
            var outbox = JsonSerializer.Deserialize<OutboxMessage>(message, Outbox.Json)
                ?? throw new InvalidOperationException("The queue message is empty.");
            if (string.IsNullOrEmpty(outbox.AccountId) || string.IsNullOrEmpty(outbox.MessageId))
                throw new InvalidOperationException("The queue message lacks accountId or messageId.");
            var outcome = await sender.SendAsync(outbox, context.CancellationToken);
            log.LogInformation("Outbox message {MessageId}: {Outcome} (dequeue count {DequeueCount})", outbox.MessageId, outcome, dequeueCount);
            return outcome;
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.CancellationToken.IsCancellationRequested)
        {
            log.LogWarning(e, "SendEmail failed (dequeue count {DequeueCount})", dequeueCount);
            // The host moves the message to the poison queue after this try.
            if (dequeueCount >= host.MaxDequeueCount) metrics.EmailPoisoned();
            throw;
        }
    }

    /// <summary>The try this is, from the trigger's metadata (the host sends it as a number or a string).</summary>
    private static long DequeueCount(FunctionContext context) =>
        context.BindingContext.BindingData.TryGetValue("DequeueCount", out var value) && long.TryParse(value?.ToString(), out var n) ? n : 1;
}
