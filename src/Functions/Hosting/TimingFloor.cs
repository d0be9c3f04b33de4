using System.Diagnostics;
using AccountFunctions.Core;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// Endpoints whose answer must not tell whether an address has an account (signup, resend,
/// forgot, sign-in by email) write rows and an email only for a known address, so they finish
/// sooner for an unknown one. This filter holds every answer until <c>Security__EnumerationFloor</c>
/// has passed since the request began, so both paths answer after the same time as long as the
/// work fits under the floor (bench <c>--enumeration</c> measures it).
/// </summary>
public static class TimingFloor
{
    public static TBuilder WithTimingFloor<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var floor = context.HttpContext.RequestServices.GetRequiredService<SecurityOptions>().EnumerationFloor;
            var started = Stopwatch.GetTimestamp();
            var result = await next(context);
            // A timer may fire a little early: wait again until the floor has really passed.
            for (var left = floor - Stopwatch.GetElapsedTime(started); left > TimeSpan.Zero; left = floor - Stopwatch.GetElapsedTime(started))
                await Task.Delay(left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left, context.HttpContext.RequestAborted);
            return result;
        });
}
