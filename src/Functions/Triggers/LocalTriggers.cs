using System.Text.Json;
using System.Text.Json.Nodes;
using AccountFunctions.Core.Storage;
using Azure.Storage.Queues.Models;

namespace AccountFunctions.Functions.Triggers;

public sealed class TriggerOptions
{
    public bool RunLocally { get; set; }
    /// <summary>As the host's queues.maxDequeueCount: after this many failures a message is poisoned.</summary>
    public int MaxDequeueCount { get; set; } = 5;
    /// <summary>As the host's queues.visibilityTimeout: how long a failed message waits before its retry.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Stands in for the Functions host when there is none (<c>Triggers__RunLocally=true</c>): drains
/// <c>email-outbox</c> and runs the sweep on its schedule, sending each invocation as the host would
/// (the message as a JSON string inside Data, DequeueCount as a string), through the same
/// TriggerFunctions the <c>POST /{Function}</c> endpoints use; failed messages come back after
/// RetryDelay and go to <c>email-outbox-poison</c> after MaxDequeueCount tries.
/// </summary>
public sealed class LocalTriggers(StorageContext storage, TriggerFunctions triggers, TriggerOptions options,
    ILogger<LocalTriggers> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(DrainQueueAsync(stoppingToken), RunTimerAsync(stoppingToken));
    }

    private async Task DrainQueueAsync(CancellationToken ct)
    {
        var idle = TimeSpan.FromMilliseconds(50);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await storage.ReadyAsync();
                var messages = (await storage.Outbox.ReceiveMessagesAsync(16, TimeSpan.FromMinutes(1), ct)).Value;
                await Task.WhenAll(messages.Select(m => HandleAsync(m, ct)));
                idle = messages.Length > 0 ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, options.PollInterval.Ticks));
                if (messages.Length == 0) await Task.Delay(idle, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Polling email-outbox failed; retrying");
                await Delay(TimeSpan.FromSeconds(2), ct);
            }
        }
    }

    private async Task HandleAsync(QueueMessage message, CancellationToken ct)
    {
        var payload = new JsonObject
        {
            ["Data"] = new JsonObject { ["message"] = message.MessageText },
            ["Metadata"] = new JsonObject
            {
                ["InvocationId"] = Guid.NewGuid().ToString(),
                ["DequeueCount"] = message.DequeueCount.ToString(),
                ["Id"] = message.MessageId,
                ["InsertionTime"] = message.InsertedOn?.ToString("O"),
                ["sys"] = new JsonObject { ["MethodName"] = TriggerFunctions.SendEmail, ["UtcNow"] = DateTimeOffset.UtcNow.ToString("O") },
            },
        };
        var outcome = await triggers.InvokeAsync(TriggerFunctions.SendEmail, payload.ToJsonString(), ct);
        if (outcome.Succeeded)
        {
            await storage.Outbox.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
        }
        else if (message.DequeueCount >= options.MaxDequeueCount)
        {
            await storage.OutboxPoison.SendMessageAsync(message.MessageText, ct);
            await storage.Outbox.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
            log.LogError("Message {MessageId} moved to the poison queue after {Count} tries", message.MessageId, message.DequeueCount);
        }
        else
        {
            await storage.Outbox.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: options.RetryDelay, cancellationToken: ct);
        }
    }

    private async Task RunTimerAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Delay(options.SweepInterval, ct);
            if (ct.IsCancellationRequested) return;
            var payload = JsonSerializer.Serialize(new
            {
                Data = new { timer = new { Schedule = new { AdjustForDST = true }, IsPastDue = false } },
                Metadata = new { InvocationId = Guid.NewGuid().ToString(), sys = new { MethodName = TriggerFunctions.LockoutSweep, UtcNow = DateTimeOffset.UtcNow } },
            });
            var outcome = await triggers.InvokeAsync(TriggerFunctions.LockoutSweep, payload, ct);
            if (!outcome.Succeeded) log.LogWarning("LockoutSweep failed: {Logs}", outcome.Body["Logs"]?.ToJsonString());
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken ct)
    {
        try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { }
    }
}
