using Azure;
using Azure.Data.Tables;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Login;

/// <summary>
/// Failed-login state of one identifier, RK <c>throttle</c> in the identifier's own partition of
/// the <c>identifiers</c> table (<c>email-{hash}</c> or <c>number-{hash}</c>), beside its owner row,
/// so one partition query answers both "who owns this" and "may it try". Written for identifiers
/// with no account too, so the throttle says nothing about existence.
/// </summary>
public sealed class ThrottleRow : ITableEntity
{
    public const string Row = "throttle";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    /// <summary>Failures in the current window (reset when the window ends or a block starts).</summary>
    public int Failures { get; set; }
    public DateTimeOffset WindowEnd { get; set; }
    /// <summary>Blocks in a row: each one lasts twice as long as the one before (growing back-off).</summary>
    public int Strikes { get; set; }
    public DateTimeOffset? LastStrikeAt { get; set; }
    public DateTimeOffset? BlockedUntil { get; set; }
}

/// <summary>
/// Per-identifier throttle with growing back-off: <c>Lockout__MaxFailedAttempts</c> failures within
/// <c>Lockout__Duration</c> block the identifier for <c>Duration</c>; each further block within
/// <see cref="StrikeMemory"/> of the last doubles, up to <c>Lockout__MaxDuration</c>.
/// </summary>
public sealed class LoginThrottle(StorageContext storage, LockoutOptions options, TimeProvider time)
{
    public static readonly TimeSpan StrikeMemory = TimeSpan.FromDays(1);

    /// <summary>The owner row and the throttle row of one identifier partition, in one query.</summary>
    public async Task<(IdentifierRow? Owner, ThrottleRow? Throttle)> ReadAsync(string partition, CancellationToken ct)
    {
        IdentifierRow? owner = null;
        ThrottleRow? throttle = null;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition}");
        await foreach (var e in storage.Identifiers.QueryAsync<TableEntity>(filter, cancellationToken: ct))
        {
            if (e.RowKey == IdentifierIndex.OwnerRow) owner = EntityMapper.To<IdentifierRow>(e);
            else if (e.RowKey == ThrottleRow.Row) throttle = EntityMapper.To<ThrottleRow>(e);
        }
        return (owner, throttle);
    }

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
            var written = row is null
                ? await storage.Identifiers.TryAddAsync(next, ct)
                : await storage.Identifiers.TryReplaceAsync(next, ct);
            if (written) return true;
            row = await storage.Identifiers.GetOrNullAsync<ThrottleRow>(partition, ThrottleRow.Row, ct);
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
