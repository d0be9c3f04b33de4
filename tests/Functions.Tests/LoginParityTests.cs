using AccountFunctions.Core;
using AccountFunctions.Core.Login;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// Issue 18: a failed login does the same work whether or not the identifier has an account:
/// the same storage calls (method and table, counted by the StorageCalls policy every storage
/// client carries) and one Argon2id derivation (the unknown path against a dummy hash). The
/// service is called directly so that only its own calls are in the recording scope; timing is
/// the enumeration bench's business (bench --enumeration), not a test's.
/// </summary>
public sealed class LoginParityTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;
    private LoginService Login => App.Services.GetRequiredServiceOf<LoginService>();
    private PasswordHasher Hasher => App.Services.GetRequiredServiceOf<PasswordHasher>();
    private static readonly ClientInfo Client = new("parity-test", "203.0.113.9");

    private sealed record Work(string? Code, IReadOnlyList<string> Calls, long Derivations);

    private async Task<Work> FailAsync(string identifier, string password = "not the right passphrase")
    {
        await App.Storage.ReadyAsync();
        var before = Hasher.Derivations;
        using var scope = App.Storage.Calls.Record();
        var result = await Login.LoginAsync(new LoginRequest(identifier, password, null, null), Client);
        // Method and table; the status differs by design (a 404 read of a placeholder, a 409 insert of one).
        var calls = scope.Calls.Select(c => $"{c.Method} {c.Resource}").Order(StringComparer.Ordinal).ToList();
        return new Work(result.Ok ? "ok" : result.Error!.Code, calls, Hasher.Derivations - before);
    }

    private static void AssertSameWork(Work known, Work unknown, string expectedCode)
    {
        Assert.Equal(expectedCode, known.Code);
        Assert.Equal(expectedCode, unknown.Code);
        Assert.NotEmpty(known.Calls);
        Assert.Equal(known.Calls, unknown.Calls);
        Assert.Equal(known.Derivations, unknown.Derivations);
    }

    private async Task WarmUpAsync()
    {
        // First uses that happen once per process (the day's audit index row, keys): not per path.
        await FailAsync(await App.SignupVerifiedAsync(TestApp.NewEmail("warm")));
        await FailAsync(TestApp.NewEmail("warm-ghost"));
    }

    [Fact]
    public async Task AWrongPasswordAndAnUnknownEmailMakeTheSameStorageCallsAndOneHashEach()
    {
        await WarmUpAsync();
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("known"));

        var ghost = TestApp.NewEmail("ghost");
        var known = await FailAsync(email);
        var unknown = await FailAsync(ghost);

        AssertSameWork(known, unknown, "invalid_credentials");
        Assert.Equal(1, unknown.Derivations);
        // Both read an account row (the unknown one a placeholder) and audit (the unknown one a placeholder).
        Assert.Contains(unknown.Calls, c => c.StartsWith("GET accounts", StringComparison.Ordinal));
        Assert.Equal(2, unknown.Calls.Count(c => c == "POST audit"));

        // Again, now that both throttle rows exist (a replace instead of an insert, on both paths).
        var knownAgain = await FailAsync(email);
        var unknownAgain = await FailAsync(ghost);
        AssertSameWork(knownAgain, unknownAgain, "invalid_credentials");
        Assert.NotEqual(known.Calls, knownAgain.Calls);
    }

    [Fact]
    public async Task AnUnverifiedClaimAWrongAccountNumberAndAThrottledIdentifierWorkAsTheirUnknownCounterparts()
    {
        await WarmUpAsync();
        // An address with only an unverified claim on it.
        var claimed = TestApp.NewEmail("claim");
        await App.SignupAsync(claimed);
        AssertSameWork(await FailAsync(claimed), await FailAsync(TestApp.NewEmail("ghost")), "invalid_credentials");

        // Account numbers: a real one with a wrong password, and an unknown one.
        var anonymous = await TestApp.Body(await App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password }));
        var number = anonymous.GetProperty("accountNumber").GetString()!;
        var unknownNumber = number[..^4] + (number[^4..] == "0000" ? "0001" : "0000");
        AssertSameWork(await FailAsync(number), await FailAsync(unknownNumber), "invalid_credentials");

        // Blocked identifiers, known and unknown: refused before any hashing, alike.
        var limit = App.Services.GetRequiredServiceOf<LoginThrottleOptions>().MaxFailedAttempts;
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("blocked"));
        var ghost = TestApp.NewEmail("blocked-ghost");
        for (var i = 0; i < limit; i++)
            AssertSameWork(await FailAsync(email, "wrong " + i), await FailAsync(ghost, "wrong " + i), "invalid_credentials");
        var knownBlocked = await FailAsync(email, TestApp.Password);
        var unknownBlocked = await FailAsync(ghost, TestApp.Password);
        AssertSameWork(knownBlocked, unknownBlocked, "too_many_requests");
        Assert.Equal(0, unknownBlocked.Derivations);
    }
}
