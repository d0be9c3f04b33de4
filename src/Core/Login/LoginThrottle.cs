using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Login;

/// <summary>
/// Per-identifier throttle with growing back-off: <c>Lockout__MaxFailedAttempts</c> failures within
/// <c>Lockout__Duration</c> block the identifier for <c>Duration</c>; each further block within
/// <c>Lockout__StrikeMemory</c> of the last doubles, up to <c>Lockout__MaxDuration</c>.
/// </summary>
public sealed class LoginThrottle(IdentifierIndex identifiers, LoginThrottleOptions options, TimeProvider time)
{
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
            blocks = CountFailure(next, now, options);
            if (await identifiers.TryWriteThrottleAsync(next, isNew: row is null, ct)) return true;
            row = await identifiers.GetThrottleAsync(partition, ct);
            return false;
        }, "Could not count a failed login after repeated conflicts.", ct);
        return blocks;
    }

    /// <summary>
    /// Counts one failure on <paramref name="row"/> at <paramref name="now"/>; true when it starts a
    /// block. Pure (no storage), so the back-off is tested on its own.
    /// </summary>
    public static bool CountFailure(ThrottleRow row, DateTimeOffset now, LoginThrottleOptions options)
    {
        if (row.WindowEnd <= now)
        {
            row.Failures = 0;
            row.WindowEnd = now + options.Duration;
        }
        var blocks = ++row.Failures >= options.MaxFailedAttempts;
        if (blocks)
        {
            row.Strikes = row.LastStrikeAt is { } last && now - last < options.StrikeMemory ? row.Strikes + 1 : 1;
            row.LastStrikeAt = now;
            row.BlockedUntil = now + BlockFor(row.Strikes, options);
            row.Failures = 0;
            row.WindowEnd = row.BlockedUntil.Value;
        }
        return blocks;
    }

    public static TimeSpan BlockFor(int strikes, LoginThrottleOptions options)
    {
        var ticks = options.Duration.Ticks * Math.Pow(2, Math.Clamp(strikes - 1, 0, 30));
        return ticks >= options.MaxDuration.Ticks ? options.MaxDuration : TimeSpan.FromTicks((long)ticks);
    }
}
