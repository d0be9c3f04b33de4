namespace AccountFunctions.Core.Storage;

/// <summary>
/// The one retry policy for "read, change, write with the ETag". An attempt reads (or re-reads)
/// its rows, changes them and writes with the ETags it read; it answers true when it is done
/// (written, or nothing left to do) and false when it lost to a concurrent write. Racers that
/// retry at once collide again, so each waits a random time (full jitter) under a cap that
/// doubles with the attempt: 1-4 ms, 1-8 ms, ... up to 1-128 ms. The wait uses the wall clock,
/// not the app's TimeProvider: it spaces out real requests, and a test's fake clock must not hold it.
/// </summary>
public static class Optimistic
{
    /// <summary>
    /// Attempts before giving up: about 3 s of waiting at most, 1.6 s on average. Enough for thirty
    /// parallel writers of one row (failed logins counted on one identifier) to all get through.
    /// </summary>
    public const int Attempts = 30;

    /// <summary>
    /// Runs <paramref name="attempt"/> (given 0, 1, ...) until it answers true; throws
    /// <see cref="ConcurrencyConflictException"/> (409 <c>concurrent_update</c>) when the budget is spent.
    /// </summary>
    public static async Task RetryAsync(Func<int, Task<bool>> attempt, string what, CancellationToken ct = default)
    {
        if (!await TryRetryAsync(attempt, ct)) throw new ConcurrencyConflictException(what);
    }

    /// <summary>
    /// The same policy where a spent budget is an answer, not an error: false then. For writes a
    /// flow may drop (a best-effort grant on an enumeration-safe path, a counter that refuses).
    /// </summary>
    public static async Task<bool> TryRetryAsync(Func<int, Task<bool>> attempt, CancellationToken ct = default)
    {
        for (var i = 0; i < Attempts; i++)
        {
            if (i > 0) await BackOffAsync(i - 1, ct);
            if (await attempt(i)) return true;
        }
        return false;
    }

    private static Task BackOffAsync(int retry, CancellationToken ct)
    {
        var cap = 4 << Math.Clamp(retry, 0, 5);
        return Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, cap + 1)), ct);
    }
}
