namespace AccountFunctions.Core;

/// <summary>
/// Retrying an ETag write that lost to a concurrent one. Racers that retry at once collide
/// again, so each waits a random time (full jitter) under a cap that doubles with the attempt:
/// 1-4 ms, 1-8 ms, ... up to 1-128 ms. The wait uses the wall clock, not the app's TimeProvider:
/// it spaces out real requests, and a test's fake clock must not hold it.
/// </summary>
public static class Contention
{
    /// <summary>Attempts before a loop gives up (about 0.6 s of waiting at most, 0.3 s on average).</summary>
    public const int Attempts = 10;

    public static Task BackOffAsync(int attempt, CancellationToken ct = default)
    {
        var cap = 4 << Math.Clamp(attempt, 0, 5);
        return Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, cap + 1)), ct);
    }
}
