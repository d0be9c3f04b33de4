using System.Net;
using AccountFunctions.Core;
using AccountFunctions.Core.Login;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.IdentityModel.JsonWebTokens;
using OtpNet;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// Issue 17: sign-ins of one account that run at the same moment all succeed (none answers
/// 409 because another one succeeded), every one leaves its session, and the login throttle
/// still counts every wrong password exactly under the same parallelism.
/// </summary>
public sealed class ConcurrentSignInTests(FakeClockFixture fixture) : IClassFixture<FakeClockFixture>
{
    private const int Parallel = 8;
    private TestApp App => fixture.App;

    private static string Sid(string accessToken) => new JsonWebToken(accessToken).GetClaim("sid").Value;

    private async Task<string> AccessAsync(HttpResponseMessage response)
    {
        var body = await TestApp.Body(response);
        return body.GetProperty("accessToken").GetString()!;
    }

    /// <summary>
    /// Every session of the access tokens given is listed by GET /api/me/sessions (asked with
    /// <paramref name="lister"/>, else the last token), and each token still in its lifetime opens /api/me.
    /// </summary>
    private async Task AssertAllLiveAsync(IReadOnlyList<string> accessTokens, string? lister = null, int checkLast = int.MaxValue)
    {
        var list = await App.GetAsync("/api/me/sessions", lister ?? accessTokens[^1]);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var listed = await TestApp.Body(list);
        var ids = listed.EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToHashSet();
        var sids = accessTokens.Select(Sid).ToList();
        Assert.Equal(sids.Count, sids.Distinct().Count());
        Assert.All(sids, sid => Assert.Contains(sid, ids));
        foreach (var access in accessTokens.TakeLast(checkLast))
            Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", access)).StatusCode);
    }

    private static async Task AssertAllOkAsync(HttpResponseMessage[] responses)
    {
        var failures = new List<string>();
        foreach (var r in responses)
            if (r.StatusCode != HttpStatusCode.OK) failures.Add($"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        Assert.Empty(failures);
    }

    [Fact]
    public async Task EightParallelPasswordSignInsOfOneAccountAllSucceedForFiveRoundsAndEverySessionIsListed()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("hot"));
        var tokens = new List<string>();
        for (var round = 0; round < 5; round++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, Parallel).Select(_ =>
                App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
            await AssertAllOkAsync(responses);
            foreach (var r in responses) tokens.Add(await AccessAsync(r));
            App.Clock!.Advance(TimeSpan.FromSeconds(61)); // the next round writes the last sign-in time again
        }
        Assert.Equal(5 * Parallel, tokens.Count);
        await AssertAllLiveAsync(tokens);
        var me = await TestApp.Body(await App.GetAsync("/api/me", tokens[^1]));
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, me.GetProperty("lastLoginAt").ValueKind);
    }

    [Fact]
    public async Task AnImportedHashIsUpgradedOnceWhileEightParallelSignInsAllSucceed()
    {
        // An account whose stored hash needs an upgrade: the upgrade is the one exact write here.
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("rehash"));
        var owner = await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(email)), IdentifierIndex.OwnerRow);
        var account = (await App.Storage.Accounts.GetOrNullAsync<Account>(owner!.AccountId, Account.Row))!;
        var hasher = new Core.Security.PasswordHasher(new SecurityOptions { HashMemoryKiB = 8 * 1024, HashIterations = 1 });
        account.PasswordHash = hasher.Hash(TestApp.Password);
        Assert.True(await App.Storage.Accounts.TryReplaceAsync(account));

        var responses = await Task.WhenAll(Enumerable.Range(0, Parallel).Select(_ =>
            App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));

        await AssertAllOkAsync(responses);
        var after = (await App.Storage.Accounts.GetOrNullAsync<Account>(owner.AccountId, Account.Row))!;
        Assert.NotEqual(account.PasswordHash, after.PasswordHash);
        Assert.False(App.Services.GetRequiredServiceOf<Core.Security.PasswordHasher>().NeedsRehash(after.PasswordHash!));
        await AssertAllLiveAsync(await Task.WhenAll(responses.Select(AccessAsync)));
    }

    [Fact]
    public async Task EmailSignInByLinkAndByCodeSucceedWhileSevenPasswordSignInsOfTheSameAccountRunBeside()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("hotmagic"));
        var tokens = new List<string>();
        for (var round = 0; round < 5; round++)
        {
            var before = App.Mail.To(email).Count;
            Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email })).StatusCode);
            var mail = (await App.Mail.WaitForAsync(email, before + 1))[before];
            object redeem = round % 2 == 0 ? new { token = mail.Token } : new { email, code = mail.Code };
            var responses = await Task.WhenAll(Enumerable.Range(0, Parallel).Select(i => i == Parallel / 2
                ? App.PostAsync("/api/login/email/redeem", redeem)
                : App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
            await AssertAllOkAsync(responses);
            foreach (var r in responses) tokens.Add(await AccessAsync(r));
            App.Clock!.Advance(TimeSpan.FromMinutes(16)); // past the per-address limit of sign-in emails
        }
        // The earlier rounds' access tokens have expired by now (15 minutes); their sessions have not.
        var fresh = await AccessAsync(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password }));
        await AssertAllLiveAsync(tokens, fresh, checkLast: 0);
    }

    [Fact]
    public async Task EightParallelSecondStepsOfOneAccountWithDifferentCodesAllSucceed()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("hotmfa"));
        var access = await AccessAsync(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password }));
        var setup = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
        var secret = Base32Encoding.ToBytes(setup.GetProperty("secret").GetString()!);
        var confirm = await App.PostAsync("/api/me/mfa/totp/confirm", new { code = Authenticator.CodeNow(App, secret) }, access);
        var recovery = (await TestApp.Body(confirm)).GetProperty("recoveryCodes").EnumerateArray().Select(c => c.GetString()!).ToList();
        App.Clock!.Advance(TimeSpan.FromSeconds(61)); // a fresh TOTP step, and the last sign-in time is stale

        // First steps in parallel (each a right password of the same account), then second steps:
        // one with the authenticator's code, the others with distinct recovery codes.
        var first = await Task.WhenAll(Enumerable.Range(0, Parallel).Select(_ =>
            App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
        await AssertAllOkAsync(first);
        var mfaTokens = new List<string>();
        foreach (var r in first) mfaTokens.Add((await TestApp.Body(r)).GetProperty("mfaToken").GetString()!);
        var code = Authenticator.CodeNow(App, secret);
        var second = await Task.WhenAll(mfaTokens.Select((t, i) => i == 0
            ? App.PostAsync("/api/login/mfa", new { mfaToken = t, code })
            : App.PostAsync("/api/login/mfa", new { mfaToken = t, recoveryCode = recovery[i] })));

        await AssertAllOkAsync(second);
        await AssertAllLiveAsync(await Task.WhenAll(second.Select(AccessAsync)));
    }

    private async Task<ThrottleRow?> ThrottleAsync(string identifier) =>
        await App.Storage.Identifiers.GetOrNullAsync<ThrottleRow>(IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(identifier)), ThrottleRow.Row);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ParallelWrongPasswordsAreEachCountedAndBlockExactlyAtTheLimit(bool accountExists)
    {
        var limit = App.Services.GetRequiredServiceOf<LoginThrottleOptions>().MaxFailedAttempts;
        var email = accountExists ? await App.SignupVerifiedAsync(TestApp.NewEmail("guess")) : TestApp.NewEmail("ghost");

        // One fewer than the limit, all at once: each one counted, none blocked.
        var wrong = await Task.WhenAll(Enumerable.Range(0, limit - 1).Select(i =>
            App.PostAsync("/api/login", new { identifier = email, password = "wrong passphrase " + i })));
        Assert.All(wrong, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        var row = await ThrottleAsync(email);
        Assert.NotNull(row);
        Assert.Equal(limit - 1, row.Failures);
        Assert.Null(row.BlockedUntil);
        if (accountExists)
            Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })).StatusCode);

        // The limit-th failure blocks; from then on even the right password is refused.
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.PostAsync("/api/login", new { identifier = email, password = "wrong again" })).StatusCode);
        row = await ThrottleAsync(email);
        Assert.Equal(1, row!.Strikes);
        Assert.NotNull(row.BlockedUntil);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })).StatusCode);
    }

    [Fact]
    public async Task TwiceTheLimitOfParallelWrongPasswordsStartsExactlyOneBlockAndLosesNoCount()
    {
        var limit = App.Services.GetRequiredServiceOf<LoginThrottleOptions>().MaxFailedAttempts;
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("burst"));

        // Just under twice the limit, so the failures counted after the block cannot start a second one.
        var wrong = await Task.WhenAll(Enumerable.Range(0, 2 * limit - 1).Select(i =>
            App.PostAsync("/api/login", new { identifier = email, password = "wrong passphrase " + i })));

        // Every request read the row before the block, or was refused by it: none got in unheard.
        var unauthorized = wrong.Count(r => r.StatusCode == HttpStatusCode.Unauthorized);
        var throttled = wrong.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal(2 * limit - 1, unauthorized + throttled);
        Assert.True(unauthorized >= limit, $"{unauthorized} counted failures");
        var row = await ThrottleAsync(email);
        Assert.Equal(1, row!.Strikes); // one block, not one per racer
        Assert.NotNull(row.BlockedUntil);
        // Counted failures past the limit are kept in the window after the block, none lost.
        Assert.Equal(unauthorized - limit, row.Failures);
    }
}

internal static class ServiceProviderExtensions
{
    public static T GetRequiredServiceOf<T>(this IServiceProvider services) where T : notnull =>
        (T)(services.GetService(typeof(T)) ?? throw new InvalidOperationException($"No {typeof(T).Name}"));
}
