using System.Collections.Concurrent;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Security;

/// <summary>
/// Per-client (IP) limits for each endpoint group, shared by every instance through the
/// <c>limits</c> table without a storage round trip on every request: an instance counts hits
/// locally and adds them to the shared fixed-window row (ETag read-modify-write) every
/// <c>SyncEvery</c> hits or <c>SyncInterval</c>, reading back what the other instances added.
/// Its decision uses the shared count it last saw plus its own unsynced hits, so one instance is
/// exact and N instances can together let through at most N × SyncEvery extra requests per window.
/// </summary>
public sealed class ClientLimiter(LimitsTable limits, ClientLimitOptions options, TimeProvider time)
{
    private const int MaxTracked = 50_000;

    private sealed class Counter
    {
        public readonly object Gate = new();
        public readonly SemaphoreSlim SyncLock = new(1, 1);
        public long WindowStart = -1;
        public int Shared;      // the shared row's count when last synced (includes our synced hits)
        public int Pending;     // our hits not yet added to the shared row
        public DateTimeOffset LastSync;
    }

    private readonly ConcurrentDictionary<string, Counter> _counters = new();

    public async Task<RateDecision> HitAsync(ClientLimitGroup limit, string? clientIp, CancellationToken ct = default)
    {
        var group = limit.Key();
        if (options.For(limit) is not { PermitLimit: > 0 } rule || rule.Window <= TimeSpan.Zero) return new RateDecision(true, TimeSpan.Zero);
        var now = time.GetUtcNow();
        var start = now.UtcTicks - now.UtcTicks % rule.Window.Ticks;
        var retryAfter = new DateTimeOffset(start, TimeSpan.Zero) + rule.Window - now;
        // Counted per parsed client (an IPv6 /64; junk is one shared "unknown" client), never per raw text.
        var subject = ClientAddress.LimitKey(ClientAddress.Parse(clientIp));
        var key = group + "|" + subject;
        if (_counters.Count > MaxTracked) Prune(now);
        var counter = _counters.GetOrAdd(key, _ => new Counter());

        bool sync;
        lock (counter.Gate)
        {
            if (counter.WindowStart != start)
            {
                counter.WindowStart = start;
                counter.Shared = counter.Pending = 0;
                counter.LastSync = DateTimeOffset.MinValue;
            }
            if (counter.Shared + counter.Pending >= rule.PermitLimit) return new RateDecision(false, retryAfter);
            counter.Pending++;
            sync = counter.Pending >= Math.Max(1, options.SyncEvery) || now - counter.LastSync >= options.SyncInterval;
        }
        if (!sync) return new RateDecision(true, TimeSpan.Zero);

        var total = await SyncAsync(counter, group, subject, start, rule, ct);
        // The shared count now includes this hit: over the limit means another instance used it up.
        return total > rule.PermitLimit ? new RateDecision(false, retryAfter) : new RateDecision(true, TimeSpan.Zero);
    }

    private async Task<int> SyncAsync(Counter counter, string group, string subject, long start, LimitRule rule, CancellationToken ct)
    {
        await counter.SyncLock.WaitAsync(ct);
        try
        {
            int add;
            lock (counter.Gate)
            {
                if (counter.WindowStart != start) return 0;
                add = counter.Pending;
                counter.Pending = 0;
            }
            var total = add == 0 ? counter.Shared : await AddAsync(group, subject, start, rule, add, ct);
            lock (counter.Gate)
            {
                if (counter.WindowStart == start)
                {
                    counter.Shared = Math.Max(counter.Shared, total);
                    counter.LastSync = time.GetUtcNow();
                }
            }
            return total;
        }
        catch
        {
            lock (counter.Gate) counter.LastSync = DateTimeOffset.MinValue; // try again on the next hit
            throw;
        }
        finally
        {
            counter.SyncLock.Release();
        }
    }

    private async Task<int> AddAsync(string group, string subject, long start, LimitRule rule, int add, CancellationToken ct)
    {
        var pk = $"ip-{group}-{Hashes.Sha256Hex(subject)}";
        var rk = LimitsTable.WindowKey(start);
        var total = int.MaxValue; // heavy contention on one counter: refuse rather than let hits through uncounted
        await Optimistic.TryRetryAsync(async _ =>
        {
            var row = await limits.GetAsync(pk, rk, ct);
            if (row is null)
            {
                var fresh = new LimitRow { PartitionKey = pk, RowKey = rk, Count = add, WindowEnd = new DateTimeOffset(start, TimeSpan.Zero) + rule.Window };
                if (!await limits.TryStartAsync(fresh, ct)) return false;
                total = add;
                return true;
            }
            row.Count += add;
            if (!await limits.TryCountAsync(row, ct)) return false;
            total = row.Count;
            return true;
        }, ct);
        return total;
    }

    private void Prune(DateTimeOffset now)
    {
        var oldest = now.UtcTicks - TimeSpan.FromDays(1).Ticks;
        foreach (var (key, counter) in _counters)
            if (counter.WindowStart < oldest || counter.LastSync < now - TimeSpan.FromHours(1)) _counters.TryRemove(key, out _);
    }
}
