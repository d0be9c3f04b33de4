using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Login;

/// <summary>
/// Per-identifier throttle with growing back-off: <c>Lockout__MaxFailedAttempts</c> failures within
/// <c>Lockout__Duration</c> block the identifier for <c>Duration</c>; each further block within
/// <see cref="StrikeMemory"/> of the last doubles, up to <c>Lockout__MaxDuration</c>.
/// </summary>
public sealed class LoginThrottle(IdentifierIndex identifiers, LockoutOptions options, TimeProvider time)
{
    public static readonly TimeSpan StrikeMemory = TimeSpan.FromDays(1);

    /// <summary>The owner row and the throttle row of one identifier partition, in one query.</summary>
    public Task<(IdentifierRow? Owner, ThrottleRow? Throttle)> ReadAsync(string partition, CancellationToken ct) =>
        identifiers.GetOwnerAndThrottleAsync(partition, ct);

    /// <summary>How long the identifier must still wait, if it is blocked.</summary>
    public TimeSpan? Blocked(ThrottleRow? row)
    {
        var now = time.GetUtcNow();
        return row?.BlockedUntil is { } until && until > now ? until - now : null;
    }

    /// <summary>
    /// Counts one failure with the ETag read (racers retry with jittered back-off, so none is lost);
    /// true when it starts a block. A count that still cannot be written is a conflict (409), never
    /// a failure dropped in silence.
    /// </summary>
    public async Task<bool> RecordFailureAsync(string partition, ThrottleRow? row, CancellationToken ct)
    {
        var blocks = false;
        await Optimistic.RetryAsync(async _ =>
        {
            var now = time.GetUtcNow();
            var next = row ?? new ThrottleRow { PartitionKey = partition };
            if (next.WindowEnd <= now)
            {
                next.Failures = 0;
                next.WindowEnd = now + options.Duration;
            }
            blocks = ++next.Failures >= options.MaxFailedAttempts;
            if (blocks)
            {
                next.Strikes = next.LastStrikeAt is { } last && now - last < StrikeMemory ? next.Strikes + 1 : 1;
                next.LastStrikeAt = now;
                next.BlockedUntil = now + BlockFor(next.Strikes);
                next.Failures = 0;
                next.WindowEnd = next.BlockedUntil.Value;
            }
            if (await identifiers.TryWriteThrottleAsync(next, isNew: row is null, ct)) return true;
            row = await identifiers.GetThrottleAsync(partition, ct);
            return false;
        }, "Could not count a failed login after repeated conflicts.", ct);
        return blocks;
    }

    public TimeSpan BlockFor(int strikes)
    {
        var ticks = options.Duration.Ticks * Math.Pow(2, Math.Clamp(strikes - 1, 0, 30));
        return ticks >= options.MaxDuration.Ticks ? options.MaxDuration : TimeSpan.FromTicks((long)ticks);
    }
}
