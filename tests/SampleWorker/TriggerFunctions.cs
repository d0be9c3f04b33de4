using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.SampleWorker;

/// <summary>Queue and timer triggers. Each invocation appends one JSON line to the file in app
/// setting <c>Sample_RecordFile</c>, so tests can see what each run received.</summary>
public sealed class TriggerFunctions(ILogger<TriggerFunctions> logger)
{
    private static readonly object Gate = new();

    [Function("OnQueue")]
    public void OnQueue([QueueTrigger("%Sample_Queue%")] string message, FunctionContext context)
    {
        var data = context.BindingContext.BindingData;
        Record(new Dictionary<string, object?>
        {
            ["function"] = "OnQueue",
            ["message"] = message,
            ["id"] = data.TryGetValue("Id", out var id) ? id?.ToString() : null,
            ["dequeueCount"] = data.TryGetValue("DequeueCount", out var dc) ? dc?.ToString() : null,
            ["insertionTime"] = data.TryGetValue("InsertionTime", out var it) ? it?.ToString() : null,
            ["popReceipt"] = data.TryGetValue("PopReceipt", out var pr) ? pr?.ToString() : null,
            ["keys"] = string.Join(",", data.Keys.OrderBy(k => k, StringComparer.Ordinal)),
        });
        logger.LogInformation("Queue message {Message}", message);
        if (message.StartsWith("fail", StringComparison.Ordinal)) throw new InvalidOperationException("failing on purpose: " + message);
    }

    [Function("OnTimer")]
    public void OnTimer([TimerTrigger("%Sample_Schedule%")] TimerInfo timer, FunctionContext context)
    {
        Record(new Dictionary<string, object?>
        {
            ["function"] = "OnTimer",
            ["isPastDue"] = timer.IsPastDue,
            ["next"] = timer.ScheduleStatus?.Next.ToString("O"),
        });
        // A slow timer (setting Sample_TimerDelayMs) shows that overlapping runs are skipped.
        if (int.TryParse(Environment.GetEnvironmentVariable("Sample_TimerDelayMs"), out var delay)) Thread.Sleep(delay);
        Record(new Dictionary<string, object?> { ["function"] = "OnTimerDone" });
    }

    // Runs once when the host starts (runOnStartup), then never (a yearly schedule).
    [Function("OnStartup")]
    public void OnStartup([TimerTrigger("0 0 0 1 1 *", RunOnStartup = true)] TimerInfo timer) =>
        Record(new Dictionary<string, object?> { ["function"] = "OnStartup" });

    private static void Record(Dictionary<string, object?> entry)
    {
        entry["at"] = DateTimeOffset.UtcNow.ToString("O");
        var file = Environment.GetEnvironmentVariable("Sample_RecordFile");
        if (string.IsNullOrEmpty(file)) return;
        lock (Gate) File.AppendAllText(file, JsonSerializer.Serialize(entry) + "\n");
    }
}
