using System.Diagnostics;

namespace AccountFunctions.Core.Security;

/// <summary>
/// Holds an answer until <c>Security__EnumerationFloor</c> has passed since <c>started</c>
/// (a Stopwatch timestamp), for a Core step whose failure takes longer when an address has an
/// account. The same rule as the endpoints' timing filter; wall time, not the app's clock.
/// </summary>
public static class EnumerationFloor
{
    public static async Task HoldAsync(TimeSpan floor, long started, CancellationToken ct = default)
    {
        // A timer may fire a little early: wait again until the floor has really passed.
        for (var left = floor - Stopwatch.GetElapsedTime(started); left > TimeSpan.Zero; left = floor - Stopwatch.GetElapsedTime(started))
            await Task.Delay(left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left, ct);
    }
}
