using AccountFunctions.Core.Sweep;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Sweep;

/// <summary>
/// Locks accounts whose email was not confirmed by its deadline and re-enqueues outbox emails
/// whose enqueue was lost. The schedule is the app setting <c>LockoutSweepSchedule</c> (NCRONTAB
/// with seconds; the shipped settings say every 5 minutes). The function's name and the setting's
/// keep the old "LockoutSweep" wording: deployed settings and the admin endpoint depend on them.
/// </summary>
public sealed class DueSweepFunction(DueSweep sweep, ILogger<DueSweepFunction> log)
{
    public const string ScheduleSetting = "LockoutSweepSchedule";

    [Function("LockoutSweep")]
    public async Task Run([TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer, FunctionContext context)
    {
        var result = await sweep.RunAsync(context.CancellationToken);
        log.LogInformation("Sweep: {Locked} account(s) locked, {Replayed} email(s) re-enqueued (past due: {PastDue})",
            result.Locked, result.Replayed, timer.IsPastDue);
    }
}
