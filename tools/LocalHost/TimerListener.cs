using System.Text.Json;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.LocalHost;

/// <summary>Runs a timerTrigger function on its schedule (UTC). A run that would overlap the
/// previous one is skipped, as Azure's singleton lock skips it.</summary>
internal sealed class TimerListener
{
    private readonly LocalFunctionsHost _host;
    private readonly HostFunction _function;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _running = new(1, 1);

    public TimerListener(LocalFunctionsHost host, HostFunction function, ILogger logger)
    {
        _host = host;
        _function = function;
        _logger = logger;
    }

    public async Task RunAsync(CancellationToken ct)
    {
        var trigger = _function.Trigger!;
        var schedule = TimerSchedule.Parse(trigger.Schedule!);
        DateTime? last = null;
        var next = schedule.GetNext(DateTime.UtcNow);
        _logger.LogInformation("The next occurrences of '{Function}' ({Schedule}): {Next:O}", _function.Name, trigger.Schedule, next);
        if (trigger.RunOnStartup) Fire(null, next, ct);
        while (!ct.IsCancellationRequested)
        {
            var wait = next - DateTime.UtcNow;
            try
            {
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            }
            catch (OperationCanceledException) { break; }
            var scheduled = next;
            next = schedule.GetNext(DateTime.UtcNow > scheduled ? DateTime.UtcNow : scheduled);
            Fire(last, next, ct);
            last = scheduled;
        }
        await _running.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private void Fire(DateTime? last, DateTime next, CancellationToken ct)
    {
        if (!_running.Wait(0))
        {
            _logger.LogInformation("Skipped a run of '{Function}': the previous run is still going", _function.Name);
            return;
        }
        _ = Task.Run(async () =>
        {
            try { await InvokeOnceAsync(_host, _function.Name, last, next, _logger, ct); }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                if (ct.IsCancellationRequested) _logger.LogDebug("Timer run of '{Function}' ended by the host stopping: {Error}", _function.Name, ex.Message);
                else _logger.LogError("Timer run of '{Function}' failed: {Error}", _function.Name, ex.Message);
            }
            finally { _running.Release(); }
        }, CancellationToken.None);
    }

    /// <summary>The TimerInfo JSON as the WebJobs timer extension serialises it.</summary>
    internal static string Payload(DateTime? last, DateTime next, bool isPastDue) => JsonSerializer.Serialize(new
    {
        Schedule = new { AdjustForDST = true },
        ScheduleStatus = new
        {
            Last = (last ?? DateTime.MinValue).ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFK", System.Globalization.CultureInfo.InvariantCulture),
            Next = next.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFK", System.Globalization.CultureInfo.InvariantCulture),
            LastUpdated = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFK", System.Globalization.CultureInfo.InvariantCulture),
        },
        IsPastDue = isPastDue,
    });

    internal static async Task InvokeOnceAsync(LocalFunctionsHost host, string functionName, DateTime? last, DateTime next, ILogger logger, CancellationToken ct = default)
    {
        if (ct == default) ct = host.Stopping;
        var worker = await host.GetWorkerAsync(TimeSpan.FromSeconds(30), ct) ?? throw new WorkerUnavailableException("No worker is connected.");
        var function = LocalFunctionsHost.Find(worker, functionName) ?? throw new InvalidOperationException($"The function '{functionName}' is not loaded.");
        var invocationId = Guid.NewGuid().ToString();
        var request = Invocations.Create(function, invocationId, "Functions." + function.Name);
        var payload = Payload(last, next, isPastDue: false);
        request.InputData.Add(new ParameterBinding { Name = function.Trigger!.Name, Data = new TypedData { Json = payload } });
        request.TriggerMetadata[function.Trigger!.Name] = new TypedData { Json = payload };
        var response = await host.InvokeAsync(worker, request, function.Name, ct);
        if (Invocations.Succeeded(response))
            logger.LogInformation("Executed 'Functions.{Function}' (Succeeded, Id={Id})", function.Name, invocationId);
        else
            logger.LogError("Executed 'Functions.{Function}' (Failed, Id={Id}): {Error}", function.Name, invocationId, Invocations.Describe(response));
    }
}
