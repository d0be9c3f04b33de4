using System.Text;
using AccountFunctions.Core.Mfa;
using Microsoft.Extensions.Time.Testing;

namespace AccountFunctions.Core.Tests;

/// <summary>
/// Which TOTP codes are accepted around now: the current 30-second step and one step either way,
/// nothing further. Codes are RFC 6238's SHA-1 test vectors (appendix B), cut to six digits as
/// authenticator apps show them, so the expected values come from the RFC, not from this code.
/// </summary>
public sealed class TotpWindowTests
{
    private static readonly byte[] Secret = Encoding.ASCII.GetBytes("12345678901234567890");

    // RFC 6238: at T = 1111111109 s the code is 07081804 (step 37037036 = [1111111080, 1111111110)).
    private const string Code = "081804";
    private const long Step = 37037036;
    private static readonly DateTimeOffset StepStart = DateTimeOffset.FromUnixTimeSeconds(Step * 30);

    private static long? MatchAt(FakeTimeProvider clock, string code = Code) => TotpCodes.Match(Secret, code, clock.GetUtcNow());

    [Theory]
    [InlineData(59L, "287082", 1L)]
    [InlineData(1111111109L, "081804", 37037036L)]
    [InlineData(1111111111L, "050471", 37037037L)]
    [InlineData(1234567890L, "005924", 41152263L)]
    [InlineData(2000000000L, "279037", 66666666L)]
    public void TheCodeOfTheCurrentStepIsAcceptedAndNamesItsStep(long unixSeconds, string code, long step)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(unixSeconds));
        Assert.Equal(step, MatchAt(clock, code));
    }

    [Fact]
    public void TheCodeOfThePreviousStepIsAcceptedUntilTheLastSecondOfTheNextStep()
    {
        var clock = new FakeTimeProvider(StepStart + TimeSpan.FromSeconds(60) - TimeSpan.FromSeconds(1)); // the next step's last second
        Assert.Equal(Step, MatchAt(clock));

        clock.Advance(TimeSpan.FromSeconds(1)); // two steps on
        Assert.Null(MatchAt(clock));
    }

    [Fact]
    public void TheCodeOfTheNextStepIsAcceptedFromTheFirstSecondOfThePreviousStep()
    {
        var clock = new FakeTimeProvider(StepStart - TimeSpan.FromSeconds(30) - TimeSpan.FromSeconds(1)); // two steps before
        Assert.Null(MatchAt(clock));

        clock.Advance(TimeSpan.FromSeconds(1)); // one step before: clock drift the other way
        Assert.Equal(Step, MatchAt(clock));
    }

    [Fact]
    public void AtTheBoundaryOfItsOwnStepTheCodeStillMatchesOnBothSides()
    {
        var clock = new FakeTimeProvider(StepStart - TimeSpan.FromMilliseconds(1));
        Assert.Equal(Step, MatchAt(clock)); // as the next step
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(Step, MatchAt(clock)); // its own first instant
        clock.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(Step, MatchAt(clock)); // its own last instant
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(Step, MatchAt(clock)); // as the previous step
    }

    [Fact]
    public void AWrongCodeIsRefusedAnywhereInTheWindow()
    {
        var clock = new FakeTimeProvider(StepStart);
        foreach (var offset in new[] { -30, 0, 30 })
            Assert.Null(TotpCodes.Match(Secret, "081805", clock.GetUtcNow() + TimeSpan.FromSeconds(offset)));
    }

    [Theory]
    [InlineData("081804", true)]
    [InlineData("81804", false)]
    [InlineData("0818040", false)]
    [InlineData("08180a", false)]
    [InlineData("０８１８０４", false)] // full-width digits are not ASCII digits
    [InlineData(null, false)]
    public void OnlySixAsciiDigitsAreAWellFormedCode(string? code, bool wellFormed) =>
        Assert.Equal(wellFormed, TotpCodes.IsWellFormed(code));
}
