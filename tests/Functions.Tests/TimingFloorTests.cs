using System.Diagnostics;
using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

public sealed class TimingFloorFixture : AppFixture
{
    public static readonly TimeSpan Floor = TimeSpan.FromMilliseconds(400);
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Security__EnumerationFloor"] = "00:00:00.400",
    };
}

/// <summary>
/// The answers that must not tell whether an address has an account are held until the floor
/// has passed, for a known and an unknown address alike (only the lower bound is asserted: how
/// close the two medians come is the enumeration benchmark's business, not a timed test's).
/// </summary>
public sealed class TimingFloorTests(TimingFloorFixture fixture) : IClassFixture<TimingFloorFixture>
{
    private TestApp App => fixture.App;

    [Theory]
    [InlineData("/api/password/forgot")]
    [InlineData("/api/email/resend")]
    [InlineData("/api/login/email")]
    [InlineData("/api/signup")]
    [InlineData("/api/signup/email")]
    public async Task KnownAndUnknownAddressesAnswerTheSameAndNotBeforeTheFloor(string path)
    {
        var known = await App.SignupVerifiedAsync(TestApp.NewEmail("known"));
        var unknown = TestApp.NewEmail("unknown");
        object Body(string email) => path == "/api/signup" ? new { email, password = TestApp.Password } : new { email };

        var (knownAnswer, knownTime) = await TimedAsync(path, Body(known));
        var (unknownAnswer, unknownTime) = await TimedAsync(path, Body(unknown));

        Assert.Equal(HttpStatusCode.Accepted, knownAnswer.StatusCode);
        Assert.Equal(knownAnswer.StatusCode, unknownAnswer.StatusCode);
        Assert.Equal(await knownAnswer.Content.ReadAsStringAsync(), await unknownAnswer.Content.ReadAsStringAsync());
        Assert.True(knownTime >= TimingFloorFixture.Floor, $"known answered after {knownTime.TotalMilliseconds} ms");
        Assert.True(unknownTime >= TimingFloorFixture.Floor, $"unknown answered after {unknownTime.TotalMilliseconds} ms");
    }

    private async Task<(HttpResponseMessage, TimeSpan)> TimedAsync(string path, object body)
    {
        var started = Stopwatch.GetTimestamp();
        var response = await App.PostAsync(path, body);
        return (response, Stopwatch.GetElapsedTime(started));
    }
}
