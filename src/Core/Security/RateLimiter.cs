using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Security;

/// <param name="Count">Hits counted in the window so far (HitAsync only).</param>
public readonly record struct RateDecision(bool Allowed, TimeSpan RetryAfter, int Count = 0);

/// <summary>
/// A try taken on a limit before the check it pays for (<see cref="RateLimiter.ReserveAsync"/>);
/// <see cref="Partition"/> and <see cref="Window"/> name the counter it was counted on, so giving it
/// back takes it from the same window.
/// </summary>
public readonly record struct RateReservation(bool Allowed, TimeSpan RetryAfter, string Partition, string Window);

/// <summary>
/// Fixed-window counters in the <c>limits</c> table, PK <c>{limit}-{sha256(subject)}</c>, RK the
/// window's start (ticks). Incremented with ETag retries, so every instance shares them.
/// </summary>
public sealed class RateLimiter(LimitsTable limits, TimeProvider time)
{
    /// <summary>Whether the subject is over the limit in the current window, without counting.</summary>
    public async Task<RateDecision> PeekAsync(string limit, string subject, int max, TimeSpan window, CancellationToken ct = default)
    {
        var (pk, rk, _, now) = Window(limit, subject, window);
        var row = await limits.GetAsync(pk, rk, ct);
        return row is not null && row.Count >= max ? new RateDecision(false, row.WindowEnd - now) : new RateDecision(true, TimeSpan.Zero);
    }

    private (string Pk, string Rk, DateTimeOffset Start, DateTimeOffset Now) Window(string limit, string subject, TimeSpan window)
    {
        var now = time.GetUtcNow();
        var start = new DateTimeOffset(now.UtcTicks - now.UtcTicks % window.Ticks, TimeSpan.Zero);
        // The subject (an address hash, an IP, an account id) is hashed again so no key holds
        // anything that identifies a person or account directly.
        var key = Hashes.Sha256Hex(subject);
        return ($"{limit}-{key}", LimitsTable.WindowKey(start.UtcTicks), start, now);
    }

    /// <summary>
    /// Takes one try before the check it pays for (issue 23: a limit checked first and counted after
    /// lets every request in flight through): allowed only while the window holds fewer than
    /// <paramref name="max"/>. A right answer can give it back (<see cref="ReleaseAsync"/>).
    /// </summary>
    public async Task<RateReservation> ReserveAsync(string limit, string subject, int max, TimeSpan window, CancellationToken ct = default)
    {
        var (pk, rk, _, _) = Window(limit, subject, window);
        var decision = await HitAsync(limit, subject, max, window, ct);
        return new RateReservation(decision.Allowed, decision.RetryAfter, pk, rk);
    }

    /// <summary>Gives a reserved try back (best effort: a count that cannot be written stays counted).</summary>
    public async Task ReleaseAsync(RateReservation reservation, CancellationToken ct = default)
    {
        if (!reservation.Allowed) return;
        await Optimistic.TryRetryAsync(async _ =>
        {
            var row = await limits.GetAsync(reservation.Partition, reservation.Window, ct);
            if (row is null || row.Count <= 0) return true;
            row.Count--;
            return await limits.TryCountAsync(row, ct);
        }, ct);
    }

    public async Task<RateDecision> HitAsync(string limit, string subject, int max, TimeSpan window, CancellationToken ct = default)
    {
        var (pk, rk, start, now) = Window(limit, subject, window);
        var decision = new RateDecision(false, TimeSpan.FromSeconds(1));
        // Heavy contention on one counter: refuse (the decision above) rather than let it through uncounted.
        await Optimistic.TryRetryAsync(async _ =>
        {
            var row = await limits.GetAsync(pk, rk, ct);
            if (row is null)
            {
                if (!await limits.TryStartAsync(new LimitRow { PartitionKey = pk, RowKey = rk, Count = 1, WindowEnd = start + window }, ct)) return false;
                decision = new RateDecision(true, TimeSpan.Zero, 1);
                return true;
            }
            if (row.Count >= max)
            {
                decision = new RateDecision(false, row.WindowEnd - now, row.Count);
                return true;
            }
            row.Count++;
            if (!await limits.TryCountAsync(row, ct)) return false;
            decision = new RateDecision(true, TimeSpan.Zero, row.Count);
            return true;
        }, ct);
        return decision;
    }
}
