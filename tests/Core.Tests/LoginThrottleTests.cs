using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Time.Testing;

namespace AccountFunctions.Core.Tests;

/// <summary>The login throttle's growing back-off, on a row in memory (LoginThrottle.CountFailure).</summary>
public sealed class LoginThrottleTests
{
    private static readonly LoginThrottleOptions Options = new()
    {
        MaxFailedAttempts = 3,
        Duration = TimeSpan.FromMinutes(15),
        MaxDuration = TimeSpan.FromHours(2),
    };

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly ThrottleRow _row = new() { PartitionKey = "email-test" };

    /// <summary>Fails <paramref name="count"/> times now; whether the last failure started a block.</summary>
    private bool Fail(int count)
    {
        var blocked = false;
        for (var i = 0; i < count; i++) blocked = LoginThrottle.CountFailure(_row, _clock.GetUtcNow(), Options);
        return blocked;
    }

    /// <summary>Fails until a block starts, and returns how long it lasts.</summary>
    private TimeSpan Block()
    {
        Assert.False(Fail(Options.MaxFailedAttempts - 1));
        Assert.True(Fail(1));
        return _row.BlockedUntil!.Value - _clock.GetUtcNow();
    }

    [Fact]
    public void FailuresBelowTheLimitDoNotBlockAndTheLimitBlocksForTheDuration()
    {
        Assert.False(Fail(2));
        Assert.Null(_row.BlockedUntil);

        Assert.True(Fail(1));
        Assert.Equal(_clock.GetUtcNow() + Options.Duration, _row.BlockedUntil);
        Assert.Equal(1, _row.Strikes);
        Assert.Equal(0, _row.Failures);
    }

    [Fact]
    public void FailuresInAnEndedWindowDoNotCount()
    {
        Assert.False(Fail(2));
        _clock.Advance(Options.Duration);

        Assert.False(Fail(2));
        Assert.Null(_row.BlockedUntil);
        Assert.True(Fail(1));
    }

    [Fact]
    public void EachBlockWithinADayOfTheLastLastsTwiceAsLongUpToTheCap()
    {
        var blocks = new List<TimeSpan>();
        for (var i = 0; i < 6; i++)
        {
            blocks.Add(Block());
            _clock.SetUtcNow(_row.BlockedUntil!.Value); // the block ends; the next failures start a new window
        }

        Assert.Equal(new[] { 15.0, 30, 60, 120, 120, 120 }, blocks.Select(b => b.TotalMinutes));
        Assert.Equal(6, _row.Strikes);
    }

    [Fact]
    public void BlockLengthIsDurationTimesTwoToTheStrikesLessOneCappedAtMaxDuration()
    {
        Assert.Equal(TimeSpan.FromMinutes(15), LoginThrottle.BlockFor(1, Options));
        Assert.Equal(TimeSpan.FromMinutes(30), LoginThrottle.BlockFor(2, Options));
        Assert.Equal(TimeSpan.FromMinutes(60), LoginThrottle.BlockFor(3, Options));
        Assert.Equal(TimeSpan.FromMinutes(120), LoginThrottle.BlockFor(4, Options));
        Assert.Equal(Options.MaxDuration, LoginThrottle.BlockFor(5, Options));
        Assert.Equal(Options.MaxDuration, LoginThrottle.BlockFor(1000, Options)); // no overflow past the cap
    }

    [Fact]
    public void ABlockOneSecondLessThanADayAfterTheLastStillDoubles()
    {
        Block();
        var firstStrike = _row.LastStrikeAt!.Value;
        _clock.SetUtcNow(firstStrike + Options.StrikeMemory - TimeSpan.FromSeconds(1) - TimeSpan.FromSeconds(1));
        Assert.False(Fail(Options.MaxFailedAttempts - 1));
        _clock.Advance(TimeSpan.FromSeconds(1)); // the blocking failure: one second before a day has passed

        Assert.True(Fail(1));
        Assert.Equal(2, _row.Strikes);
        Assert.Equal(Options.Duration * 2, _row.BlockedUntil!.Value - _clock.GetUtcNow());
    }

    [Fact]
    public void ABlockADayAfterTheLastStartsOverAtTheDuration()
    {
        Block();
        _clock.SetUtcNow(_row.BlockedUntil!.Value);
        Block(); // the second strike: 30 minutes
        var secondStrike = _row.LastStrikeAt!.Value;
        _clock.SetUtcNow(secondStrike + Options.StrikeMemory - TimeSpan.FromSeconds(1));
        Assert.False(Fail(Options.MaxFailedAttempts - 1));
        _clock.Advance(TimeSpan.FromSeconds(1)); // the blocking failure: exactly a day after the last block

        Assert.True(Fail(1));
        Assert.Equal(1, _row.Strikes);
        Assert.Equal(Options.Duration, _row.BlockedUntil!.Value - _clock.GetUtcNow());
    }
}
