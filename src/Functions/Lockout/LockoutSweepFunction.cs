using AccountFunctions.Core.Lockout;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Lockout;

/// <summary>
/// Locks accounts whose email was not confirmed by its deadline and re-enqueues outbox emails
/// whose enqueue was lost. The schedule is the app setting <c>LockoutSweepSchedule</c> (NCRONTAB
/// with seconds; the shipped settings say every 5 minutes).
/// </summary>
public sealed class LockoutSweepFunction(LockoutSweeper sweeper, ILogger<LockoutSweepFunction> log)
{
    public const string ScheduleSetting = "LockoutSweepSchedule";

    [Function("LockoutSweep")]
    public async Task Run([TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer, FunctionContext context)
    {
        var result = await sweeper.RunAsync(context.CancellationToken);
        log.LogInformation("Sweep: {Locked} account(s) locked, {Replayed} email(s) re-enqueued (past due: {PastDue})",
            result.Locked, result.Replayed, timer.IsPastDue);
    }
}
