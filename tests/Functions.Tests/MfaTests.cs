using System.Net;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Core.Mfa;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;
using Azure.Data.Tables;
using OtpNet;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// TOTP two-factor authentication end to end. Codes are computed here from the secret the API
/// returned, with Otp.NET at the app's (fake) clock; moving the clock 30 s gives a fresh step.
/// </summary>
public sealed class MfaTests(FakeClockFixture fixture) : IClassFixture<FakeClockFixture>
{
    private TestApp App => fixture.App;

    private sealed record Enabled(string Email, byte[] Secret, IReadOnlyList<string> RecoveryCodes, string AccessToken);

    private string CodeNow(byte[] secret) => Authenticator.CodeNow(App, secret);
    private string NextCode(byte[] secret) => Authenticator.NextCode(App, secret);
    private string WrongCode(byte[] secret) => Authenticator.WrongCode(App, secret);

    private async Task<Enabled> EnableAsync(string? email = null)
    {
        email ??= await App.SignupVerifiedAsync(TestApp.NewEmail("mfa"));
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString()!;
        var setup = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
        var secret = Base32Encoding.ToBytes(setup.GetProperty("secret").GetString()!);
        var confirm = await App.PostAsync("/api/me/mfa/totp/confirm", new { code = CodeNow(secret) }, access);
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        var codes = (await TestApp.Body(confirm)).GetProperty("recoveryCodes").EnumerateArray().Select(c => c.GetString()!).ToList();
        return new Enabled(email, secret, codes, access);
    }

    private async Task<string> MfaTokenAsync(string email, bool rememberMe = false, bool useCookie = false)
    {
        var response = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password, rememberMe, useCookie });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await TestApp.Body(response);
        Assert.True(body.GetProperty("mfaRequired").GetBoolean());
        Assert.False(body.TryGetProperty("accessToken", out _));
        return body.GetProperty("mfaToken").GetString()!;
    }

    private Task<HttpResponseMessage> CompleteAsync(string mfaToken, string? code = null, string? recoveryCode = null) =>
        App.PostAsync("/api/login/mfa", code is not null ? new { mfaToken, code } : (object)new { mfaToken, recoveryCode });

    private async Task<bool> MfaEnabledAsync(string access) =>
        (await TestApp.Body(await App.GetAsync("/api/me", access))).GetProperty("mfaEnabled").GetBoolean();

    [Fact]
    public async Task SetupThenConfirmTurnsMfaOnKeepsTheSessionAndGivesTenDistinctRecoveryCodes()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("mfa"));
        var access = (await App.LoginAsync(email)).GetProperty("accessToken").GetString()!;
        Assert.False(await MfaEnabledAsync(access));

        var first = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
        var setup = await App.PostAsync("/api/me/mfa/totp", new { }, access); // calling again replaces the secret
        Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
        var body = await TestApp.Body(setup);
        var secretText = body.GetProperty("secret").GetString()!;
        var secret = Base32Encoding.ToBytes(secretText);
        Assert.Equal(20, secret.Length);
        var uri = new Uri(body.GetProperty("otpauthUri").GetString()!);
        Assert.Equal("otpauth", uri.Scheme);
        Assert.Equal("totp", uri.Host);
        Assert.Equal("/Account Functions:" + email, Uri.UnescapeDataString(uri.AbsolutePath));
        Assert.Contains("secret=" + secretText, uri.Query);
        Assert.Contains("issuer=Account%20Functions", uri.Query);
        Assert.Contains("digits=6", uri.Query);
        Assert.Contains("period=30", uri.Query);

        // A code of the replaced secret, and a wrong one, do not confirm; neither turns MFA on.
        var oldSecret = Base32Encoding.ToBytes(first.GetProperty("secret").GetString()!);
        if (CodeNow(oldSecret) != CodeNow(secret))
            Assert.Equal("invalid_code", await TestApp.Code(await App.PostAsync("/api/me/mfa/totp/confirm", new { code = CodeNow(oldSecret) }, access)));
        Assert.Equal("invalid_code", await TestApp.Code(await App.PostAsync("/api/me/mfa/totp/confirm", new { code = WrongCode(secret) }, access)));
        Assert.False(await MfaEnabledAsync(access));

        var confirm = await App.PostAsync("/api/me/mfa/totp/confirm", new { code = CodeNow(secret) }, access);

        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        var codes = (await TestApp.Body(confirm)).GetProperty("recoveryCodes").EnumerateArray().Select(c => c.GetString()!).ToList();
        Assert.Equal(10, codes.Count);
        Assert.Equal(10, codes.Distinct().Count());
        Assert.All(codes, c => Assert.Matches("^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$", c));
        // The session that turned it on goes on working, and the account says MFA is on.
        Assert.True(await MfaEnabledAsync(access));
        Assert.Equal("mfa_already_enabled", await TestApp.Code(await App.PostAsync("/api/me/mfa/totp", new { }, access)));
    }

    [Fact]
    public async Task TheSecretIsStoredEncryptedAndRecoveryCodesOnlyHashed()
    {
        var mfa = await EnableAsync();
        var id = (await TestApp.Body(await App.GetAsync("/api/me", mfa.AccessToken))).GetProperty("id").GetString()!;
        var base32 = Base32Encoding.ToString(mfa.Secret).TrimEnd('=');
        var forms = new[] { base32, Convert.ToBase64String(mfa.Secret), Convert.ToHexString(mfa.Secret), Convert.ToHexStringLower(mfa.Secret) }
            .Concat(mfa.RecoveryCodes).Concat(mfa.RecoveryCodes.Select(c => c.Replace("-", ""))).ToList();

        var rows = new List<TableEntity>();
        await foreach (var row in App.Storage.Accounts.QueryAsync<TableEntity>(e => e.PartitionKey == id)) rows.Add(row);

        var account = Assert.Single(rows, r => r.RowKey == Account.Row);
        Assert.StartsWith("v1.", account.GetString(nameof(Account.TotpSecret)));
        Assert.Equal(10, rows.Count(r => r.RowKey.StartsWith(RecoveryCodeRow.Prefix, StringComparison.Ordinal)));
        var everything = string.Join("\n", rows.SelectMany(r => r.Select(p => $"{r.RowKey}={p.Value}")));
        Assert.All(forms, f => Assert.DoesNotContain(f, everything, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task LoginWithMfaOnAsksForTheSecondFactorAndACodeGivesASession()
    {
        var mfa = await EnableAsync();
        var token = await MfaTokenAsync(mfa.Email);

        var response = await CompleteAsync(token, NextCode(mfa.Secret));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var session = await TestApp.Body(response);
        var access = session.GetProperty("accessToken").GetString();
        Assert.True(session.GetProperty("account").GetProperty("mfaEnabled").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", access)).StatusCode);
        // The mfaToken is single use.
        Assert.Equal("invalid_token", await TestApp.Code(await CompleteAsync(token, NextCode(mfa.Secret))));
    }

    [Fact]
    public async Task ACodeIsRefusedASecondTime()
    {
        var mfa = await EnableAsync();
        // The confirmation's own code is spent already.
        Assert.Equal("invalid_code", await TestApp.Code(await CompleteAsync(await MfaTokenAsync(mfa.Email), CodeNow(mfa.Secret))));

        var code = NextCode(mfa.Secret);
        Assert.Equal(HttpStatusCode.OK, (await CompleteAsync(await MfaTokenAsync(mfa.Email), code)).StatusCode);
        var again = await CompleteAsync(await MfaTokenAsync(mfa.Email), code);

        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("invalid_code", await TestApp.Code(again));
        // Still refused 30 s later, while the drift window would otherwise accept it.
        App.Clock!.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("invalid_code", await TestApp.Code(await CompleteAsync(await MfaTokenAsync(mfa.Email), code)));
        Assert.Equal(HttpStatusCode.OK, (await CompleteAsync(await MfaTokenAsync(mfa.Email), NextCode(mfa.Secret))).StatusCode);
    }

    [Fact]
    public async Task ARecoveryCodeSignsInOnceAndNotTwice()
    {
        var mfa = await EnableAsync();

        var first = await CompleteAsync(await MfaTokenAsync(mfa.Email), recoveryCode: mfa.RecoveryCodes[0]);
        var second = await CompleteAsync(await MfaTokenAsync(mfa.Email), recoveryCode: mfa.RecoveryCodes[0]);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("invalid_code", await TestApp.Code(second));
        // Another code works, typed in upper case without dashes.
        var typed = mfa.RecoveryCodes[1].Replace("-", "").ToUpperInvariant();
        Assert.Equal(HttpStatusCode.OK, (await CompleteAsync(await MfaTokenAsync(mfa.Email), recoveryCode: typed)).StatusCode);
        Assert.Equal("invalid_code", await TestApp.Code(await CompleteAsync(await MfaTokenAsync(mfa.Email), recoveryCode: "0000-0000-0000-0000")));
    }

    [Fact]
    public async Task FiveWrongCodesKillTheMfaToken()
    {
        var mfa = await EnableAsync();
        var token = await MfaTokenAsync(mfa.Email);
        var right = NextCode(mfa.Secret);
        for (var i = 0; i < 5; i++)
        {
            var wrong = await CompleteAsync(token, WrongCode(mfa.Secret));
            Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
            Assert.Equal("invalid_code", await TestApp.Code(wrong));
        }

        Assert.Equal("invalid_token", await TestApp.Code(await CompleteAsync(token, right)));
        // A fresh sign-in still works with that code: only the token died.
        Assert.Equal(HttpStatusCode.OK, (await CompleteAsync(await MfaTokenAsync(mfa.Email), right)).StatusCode);
    }

    [Fact]
    public async Task ParallelWrongCodesCannotTryMoreThanFive()
    {
        var mfa = await EnableAsync();
        var token = await MfaTokenAsync(mfa.Email);
        var wrong = WrongCode(mfa.Secret);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => CompleteAsync(token, wrong)));
        var codes = await Task.WhenAll(responses.Select(TestApp.Code));

        Assert.Equal(5, codes.Count(c => c == "invalid_code"));
        Assert.Equal(3, codes.Count(c => c == "invalid_token"));
        Assert.Equal("invalid_token", await TestApp.Code(await CompleteAsync(token, NextCode(mfa.Secret))));
    }

    [Fact]
    public async Task WrongCodesAreThrottledPerAccountAcrossMfaTokens()
    {
        var mfa = await EnableAsync();
        for (var t = 0; t < 2; t++)
        {
            var token = await MfaTokenAsync(mfa.Email);
            for (var i = 0; i < 5; i++) await CompleteAsync(token, WrongCode(mfa.Secret));
        }

        var throttled = await CompleteAsync(await MfaTokenAsync(mfa.Email), NextCode(mfa.Secret));

        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        Assert.Equal("too_many_requests", await TestApp.Code(throttled));
        Assert.True(throttled.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        App.Clock!.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(HttpStatusCode.OK, (await CompleteAsync(await MfaTokenAsync(mfa.Email), CodeNow(mfa.Secret))).StatusCode);
    }

    [Fact]
    public async Task TheMfaTokenWorksForFiveMinutesAndNotASecondLonger()
    {
        var mfa = await EnableAsync();

        var early = await MfaTokenAsync(mfa.Email);
        App.Clock!.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await CompleteAsync(early, CodeNow(mfa.Secret))).StatusCode);

        var late = await MfaTokenAsync(mfa.Email);
        App.Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var refused = await CompleteAsync(late, CodeNow(mfa.Secret));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(refused));
    }

    [Fact]
    public async Task RememberMeAndCookieModeCarryOverToTheSecondStep()
    {
        var mfa = await EnableAsync();
        var token = await MfaTokenAsync(mfa.Email, rememberMe: true, useCookie: true);

        var response = await CompleteAsync(token, NextCode(mfa.Secret));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await TestApp.Body(response);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("refreshToken").ValueKind);
        Assert.True(body.GetProperty("refreshExpiresIn").GetInt32() > TimeSpan.FromDays(29).TotalSeconds);
        Assert.StartsWith("__Host-refresh=", Assert.Single(response.Headers.GetValues("Set-Cookie")));
    }

    [Fact]
    public async Task DisablingNeedsTheRightPasswordAndThenLoginGivesASessionDirectly()
    {
        var mfa = await EnableAsync();

        var missing = await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { }, mfa.AccessToken);
        var wrong = await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { currentPassword = "not my password at all" }, mfa.AccessToken);
        Assert.Equal("validation_failed", await TestApp.Code(missing));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("wrong_password", await TestApp.Code(wrong));
        Assert.True(await MfaEnabledAsync(mfa.AccessToken));

        var right = await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { currentPassword = TestApp.Password }, mfa.AccessToken);

        Assert.Equal(HttpStatusCode.NoContent, right.StatusCode);
        Assert.False(await MfaEnabledAsync(mfa.AccessToken)); // the session that did it goes on
        var login = await App.LoginAsync(mfa.Email);
        Assert.False(login.TryGetProperty("mfaRequired", out _));
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", login.GetProperty("accessToken").GetString())).StatusCode);
        // The recovery codes are gone with it.
        var id = login.GetProperty("account").GetProperty("id").GetString()!;
        var left = 0;
        await foreach (var _ in App.Storage.Accounts.QueryAsync<TableEntity>(e => e.PartitionKey == id
            && e.RowKey.CompareTo(RecoveryCodeRow.Prefix) >= 0 && e.RowKey.CompareTo(RecoveryCodeRow.Prefix + "~") < 0)) left++;
        Assert.Equal(0, left);

        // Setting it up again works, with a new secret and new codes.
        var again = await EnableAsync(mfa.Email);
        Assert.NotEqual(mfa.Secret, again.Secret);
        Assert.Empty(again.RecoveryCodes.Intersect(mfa.RecoveryCodes));
    }

    [Fact]
    public async Task AnAccountWithoutAPasswordDisablesWithACurrentCode()
    {
        var email = TestApp.NewEmail("nopass");
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/signup/email", new { email })).StatusCode);
        var mail = (await App.Mail.WaitForAsync(email)).Single();
        var verified = await TestApp.Body(await App.PostAsync("/api/email/verify", new { token = mail.Token }));
        var access = verified.GetProperty("session").GetProperty("accessToken").GetString()!;
        var setup = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
        var secret = Base32Encoding.ToBytes(setup.GetProperty("secret").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/me/mfa/totp/confirm", new { code = CodeNow(secret) }, access)).StatusCode);

        var noCode = await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { currentPassword = "anything at all" }, access);
        var wrong = await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { code = WrongCode(secret) }, access);
        var replayed = await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { code = CodeNow(secret) }, access);
        Assert.Equal("validation_failed", await TestApp.Code(noCode));
        Assert.Equal("invalid_code", await TestApp.Code(wrong));
        Assert.Equal("invalid_code", await TestApp.Code(replayed)); // the confirmation used that step
        Assert.True(await MfaEnabledAsync(access));

        var right = await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { code = NextCode(secret) }, access);

        Assert.Equal(HttpStatusCode.NoContent, right.StatusCode);
        Assert.False(await MfaEnabledAsync(access));
    }

    [Fact]
    public async Task MagicLinkRedeemAsksForTheSecondFactorWhenMfaIsOn()
    {
        var mfa = await EnableAsync();
        var before = App.Mail.To(mfa.Email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email = mfa.Email })).StatusCode);
        var mail = (await App.Mail.WaitForAsync(mfa.Email, before + 1))[before];

        var redeem = await App.PostAsync("/api/login/email/redeem", new { token = mail.Token });

        Assert.Equal(HttpStatusCode.OK, redeem.StatusCode);
        var body = await TestApp.Body(redeem);
        Assert.True(body.GetProperty("mfaRequired").GetBoolean());
        Assert.False(body.TryGetProperty("accessToken", out _));
        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/login/email/redeem", new { token = mail.Token })));
        var session = await CompleteAsync(body.GetProperty("mfaToken").GetString()!, NextCode(mfa.Secret));
        Assert.Equal(HttpStatusCode.OK, session.StatusCode);
        Assert.True((await TestApp.Body(session)).TryGetProperty("accessToken", out _));
    }

    [Fact]
    public async Task AfterAPasswordResetMfaIsStillRequired()
    {
        var mfa = await EnableAsync();
        var before = App.Mail.To(mfa.Email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/password/forgot", new { email = mfa.Email })).StatusCode);
        var mail = (await App.Mail.WaitForAsync(mfa.Email, before + 1)).Skip(before).First(m => m.Subject == "Reset your password");
        const string newPassword = "another fine passphrase here";
        Assert.Equal(HttpStatusCode.NoContent, (await App.PostAsync("/api/password/reset", new { token = mail.Token, newPassword })).StatusCode);

        var login = await TestApp.Body(await App.PostAsync("/api/login", new { identifier = mfa.Email, password = newPassword }));

        Assert.True(login.GetProperty("mfaRequired").GetBoolean());
    }

    [Fact]
    public async Task TwoParallelSecondStepsWithOneCodeGiveExactlyOneSession()
    {
        var mfa = await EnableAsync();
        var tokens = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => MfaTokenAsync(mfa.Email)));
        var code = NextCode(mfa.Secret);
        var sessionsBefore = (await TestApp.Body(await App.GetAsync("/api/me/sessions", mfa.AccessToken))).GetArrayLength();

        // Four sign-ins, each sending its token twice, all with one code.
        var responses = await Task.WhenAll(tokens.Concat(tokens).Select(t => CompleteAsync(t, code)));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        var sessionsAfter = (await TestApp.Body(await App.GetAsync("/api/me/sessions", mfa.AccessToken))).GetArrayLength();
        Assert.Equal(sessionsBefore + 1, sessionsAfter);
    }

    [Fact]
    public async Task BadInputIsAClearProblemNeverA500()
    {
        var mfa = await EnableAsync();
        var token = await MfaTokenAsync(mfa.Email);
        var code = NextCode(mfa.Secret);

        async Task Expect(HttpResponseMessage response, HttpStatusCode status, string problem)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(problem, await TestApp.Code(response));
        }

        await Expect(await App.PostRawAsync("/api/login/mfa", "{}"), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostRawAsync("/api/login/mfa", $$"""{"mfaToken":"{{token}}"}"""), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostRawAsync("/api/login/mfa", $$"""{"mfaToken":123,"code":"{{code}}"}"""), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostRawAsync("/api/login/mfa", $$"""{"mfaToken":"{{token}}","code":123456}"""), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostRawAsync("/api/login/mfa", $$"""{"mfaToken":"{{token}}","code":"12345a"}"""), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostRawAsync("/api/login/mfa", $$"""{"mfaToken":"{{token}}","code":"{{code}}","recoveryCode":"{{mfa.RecoveryCodes[0]}}"}"""),
            HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostRawAsync("/api/login/mfa", $$"""{"mfaToken":"{{token}}","recoveryCode":["x"]}"""), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostRawAsync("/api/login/mfa", "{\"mfaToken\":"), HttpStatusCode.BadRequest, "malformed_json");
        await Expect(await App.PostRawAsync("/api/login/mfa", "mfaToken=x", "text/plain"), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await Expect(await CompleteAsync("not-a-token", code), HttpStatusCode.BadRequest, "invalid_token");
        await Expect(await CompleteAsync(token[..^2] + (token[^2] == 'A' ? "BB" : "AA"), code), HttpStatusCode.BadRequest, "invalid_token");

        await Expect(await App.PostAsync("/api/me/mfa/totp/confirm", new { code = 123456 }, mfa.AccessToken), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostAsync("/api/me/mfa/totp/confirm", new { }, mfa.AccessToken), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { currentPassword = 5 }, mfa.AccessToken), HttpStatusCode.BadRequest, "validation_failed");
        await Expect(await App.PostAsync("/api/me/mfa/totp", new { }), HttpStatusCode.Unauthorized, "unauthorized");
        await Expect(await App.PostAsync("/api/me/mfa/totp/confirm", new { code }), HttpStatusCode.Unauthorized, "unauthorized");

        // Confirming before any setup is a state problem, not a wrong code.
        var other = await App.SignupVerifiedAsync(TestApp.NewEmail("mfa"));
        var access = (await App.LoginAsync(other)).GetProperty("accessToken").GetString()!;
        await Expect(await App.PostAsync("/api/me/mfa/totp/confirm", new { code = "123456" }, access), HttpStatusCode.Conflict, "mfa_setup_required");

        // None of that used up the token.
        Assert.Equal(HttpStatusCode.OK, (await CompleteAsync(token, code)).StatusCode);
    }
}
