using System.Net;
using AccountFunctions.Functions.Tests.Support;
using OtpNet;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>A small login limit (4) and a fake clock for TOTP (the per-address code cap is out of the way, as in every TestApp).</summary>
public sealed class ConcurrentLimitFixture : AppFixture
{
    public const int Limit = 4;
    protected override bool FakeClock => true;
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Lockout__MaxFailedAttempts"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// Issue 23, "limits that do not hold when requests arrive together": every limit reserves its
/// attempt before the check, so requests sent at once cannot all pass a check made before any of
/// them was counted. Each test fires its requests in parallel and asserts the exact bound.
/// </summary>
public sealed class ConcurrentLimitTests(ConcurrentLimitFixture fixture) : IClassFixture<ConcurrentLimitFixture>
{
    private const int Limit = ConcurrentLimitFixture.Limit;
    private TestApp App => fixture.App;

    private static async Task<List<string>> StatusesAsync(IEnumerable<Task<HttpResponseMessage>> requests)
    {
        var responses = await Task.WhenAll(requests);
        var codes = new List<string>();
        foreach (var r in responses) codes.Add($"{(int)r.StatusCode} {await TestApp.Code(r)}");
        return codes;
    }

    private static void AssertBound(List<string> answers, string checkedAnswer, int bound)
    {
        var summary = string.Join(", ", answers.GroupBy(a => a).Select(g => $"{g.Count()} x {g.Key}"));
        Assert.True(answers.Count(a => a == checkedAnswer) <= bound, summary);
        Assert.True(answers.All(a => a == checkedAnswer || a == "429 too_many_requests"), summary);
    }

    private async Task<(string Email, string Access)> SignedInAsync(string tag)
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail(tag));
        return (email, (await App.LoginAsync(email)).GetProperty("accessToken").GetString()!);
    }

    [Fact]
    public async Task ThirtyParallelWrongPasswordsForOneAddressAreAtMostTheLimitCheckedAndTheRestRefused()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("burst"));

        var answers = await StatusesAsync(Enumerable.Range(0, 30).Select(i =>
            App.PostAsync("/api/login", new { identifier = email, password = "wrong passphrase " + i })));

        AssertBound(answers, "401 invalid_credentials", Limit);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })).StatusCode);
    }

    [Fact]
    public async Task SixtyParallelWrongSignInCodesKillTheCodeAndTheRightOneThenAnswersInvalidToken()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("magic"));
        var before = App.Mail.To(email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email })).StatusCode);
        var mail = (await App.Mail.WaitForAsync(email, before + 1))[before];
        var right = mail.Code!;

        var answers = await StatusesAsync(Enumerable.Range(0, 60).Select(i =>
            App.PostAsync("/api/login/email/redeem", new { email, code = Wrong(right, i) })));

        Assert.All(answers, a => Assert.NotEqual("200 ", a));
        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/login/email/redeem", new { email, code = right })));
    }

    [Fact]
    public async Task TheRightSignInCodeSentLastInABurstOfSixtyWrongOnesIsNotCheckedOnceFiveWereReserved()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("burst-code"));
        var before = App.Mail.To(email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email })).StatusCode);
        var right = (await App.Mail.WaitForAsync(email, before + 1))[before].Code!;

        // Sixty wrong guesses and then the right code, all in flight together: a check made before
        // the tries were counted would let the right one in after the code's five tries were spent.
        var answers = await StatusesAsync(Enumerable.Range(0, 61).Select(i =>
            App.PostAsync("/api/login/email/redeem", new { email, code = i < 60 ? Wrong(right, i) : right })));

        Assert.DoesNotContain(answers, a => a.StartsWith("200", StringComparison.Ordinal));
        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/login/email/redeem", new { email, code = right })));
    }

    [Fact]
    public async Task SixtyParallelWrongVerificationCodesKillTheCodeAndTheRightOneThenAnswersInvalidToken()
    {
        var email = TestApp.NewEmail("verify");
        var mail = await App.SignupAsync(email);
        var right = mail.Code!;

        await StatusesAsync(Enumerable.Range(0, 60).Select(i =>
            App.PostAsync("/api/email/verify", new { email, code = Wrong(right, i) })));

        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/email/verify", new { email, code = right })));
    }

    /// <summary>Six digits other than <paramref name="right"/>, different for each i.</summary>
    internal static string Wrong(string right, int i)
    {
        var n = (int.Parse(right) + 1 + i) % 1_000_000;
        return n.ToString("D6");
    }

    [Fact]
    public async Task TwentyMfaTokensOfOneAccountWithOneWrongCodeEachAtOnceAreAtMostTheLimitChecked()
    {
        var (email, access) = await SignedInAsync("mfa");
        var setup = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
        var secret = Base32Encoding.ToBytes(setup.GetProperty("secret").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/me/mfa/totp/confirm", new { code = Authenticator.CodeNow(App, secret) }, access)).StatusCode);
        var tokens = new List<string>();
        for (var i = 0; i < 20; i++)
            tokens.Add((await App.LoginAsync(email)).GetProperty("mfaToken").GetString()!);
        var wrong = Authenticator.WrongCode(App, secret);

        var answers = await StatusesAsync(tokens.Select(mfaToken => App.PostAsync("/api/login/mfa", new { mfaToken, code = wrong })));

        AssertBound(answers, "400 invalid_code", Limit);
    }

    public static TheoryData<string> PasswordChecks => ["password", "delete", "totp", "email"];

    [Theory]
    [MemberData(nameof(PasswordChecks))]
    public async Task ThirtyParallelWrongCurrentPasswordsAreAtMostTheLoginLimitCheckedAndThenBlockTheLogin(string check)
    {
        var (email, access) = await SignedInAsync("oracle-" + check);
        if (check == "totp")
        {
            var setup = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
            var secret = Base32Encoding.ToBytes(setup.GetProperty("secret").GetString()!);
            Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/me/mfa/totp/confirm", new { code = Authenticator.CodeNow(App, secret) }, access)).StatusCode);
        }

        var answers = await StatusesAsync(Enumerable.Range(0, 30).Select(i =>
        {
            var currentPassword = "wrong passphrase " + i;
            return check switch
            {
                "password" => App.PostAsync("/api/me/password", new { currentPassword, newPassword = "a brand new passphrase " + i }, access),
                "delete" => App.SendAsync(HttpMethod.Delete, "/api/me", new { currentPassword }, access),
                "totp" => App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { currentPassword }, access),
                _ => App.PostAsync("/api/me/email", new { currentPassword, newEmail = TestApp.NewEmail("new") }, access),
            };
        }));

        AssertBound(answers, "400 wrong_password", Limit);
        // They counted against the account's login throttle, as failed logins do.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })).StatusCode);
    }
}

/// <summary>A small per-address cap of wrong codes (8 a day), resends out of the way.</summary>
public sealed class CodeCapFixture : AppFixture
{
    public const int Cap = 8;
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Security__CodeTriesPerAddress"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Security__ResendLimit"] = "100",
    };
}

/// <summary>
/// Issue 23: wrong codes are capped per address across codes, so resends (each a fresh code with
/// five tries of its own) do not multiply the guesses. Known and unknown addresses alike.
/// </summary>
public sealed class CodeCapTests(CodeCapFixture fixture) : IClassFixture<CodeCapFixture>
{
    private TestApp App => fixture.App;

    private async Task<string> SignInCodeAsync(string email)
    {
        var before = App.Mail.To(email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email })).StatusCode);
        return (await App.Mail.WaitForAsync(email, before + 1))[before].Code!;
    }

    private async Task<List<string>> GuessAsync(string email, string right, int count, int offset = 0)
    {
        var responses = await Task.WhenAll(Enumerable.Range(offset, count).Select(i =>
            App.PostAsync("/api/login/email/redeem", new { email, code = ConcurrentLimitTests.Wrong(right, i) })));
        var codes = new List<string>();
        foreach (var r in responses) codes.Add($"{(int)r.StatusCode} {await TestApp.Code(r)}");
        return codes;
    }

    [Fact]
    public async Task WrongCodesAcrossResentCodesStopAtTheCapAndThenEvenTheRightCodeIsRefused()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("cap"));

        // The first code: its five tries spent (sent at once).
        var first = await SignInCodeAsync(email);
        Assert.All(await GuessAsync(email, first, 5), a => Assert.Equal("400 invalid_token", a));
        // A resent code has five tries of its own, but the address has only three wrong codes left today.
        var second = await SignInCodeAsync(email);
        var answers = await GuessAsync(email, second, 5, offset: 5);
        Assert.Equal(CodeCapFixture.Cap - 5, answers.Count(a => a == "400 invalid_token"));
        Assert.Equal(5 - (CodeCapFixture.Cap - 5), answers.Count(a => a == "429 too_many_requests"));

        var refused = await App.PostAsync("/api/login/email/redeem", new { email, code = second });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task AnUnknownAddressMeetsTheSameCap()
    {
        var ghost = TestApp.NewEmail("cap-ghost");
        var answers = await GuessAsync(ghost, "123456", CodeCapFixture.Cap + 3);
        Assert.Equal(CodeCapFixture.Cap, answers.Count(a => a == "400 invalid_token"));
        Assert.Equal(3, answers.Count(a => a == "429 too_many_requests"));
    }
}
