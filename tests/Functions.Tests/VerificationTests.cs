using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

public sealed class VerificationTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    [Fact]
    public async Task VerifyByLinkActivatesTheAccount()
    {
        var email = TestApp.NewEmail();
        var mail = await App.SignupAsync(email);

        var response = await App.PostAsync("/api/email/verify", new { token = mail.Token });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("active", (await TestApp.Body(response)).GetProperty("status").GetString());
        var session = await App.LoginAsync(email);
        Assert.True(session.GetProperty("account").GetProperty("emailVerified").GetBoolean());
    }

    [Fact]
    public async Task VerifyByCodeActivatesTheAccountAndKillsTheLink()
    {
        var email = TestApp.NewEmail();
        var mail = await App.SignupAsync(email);

        var response = await App.PostAsync("/api/email/verify", new { email = email.ToUpperInvariant(), code = mail.Code });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var link = await App.PostAsync("/api/email/verify", new { token = mail.Token });
        Assert.Equal(HttpStatusCode.BadRequest, link.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(link));
    }

    [Fact]
    public async Task VerificationTokenCannotBeUsedTwice()
    {
        var mail = await App.SignupAsync(TestApp.NewEmail());
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = mail.Token })).StatusCode);

        var again = await App.PostAsync("/api/email/verify", new { token = mail.Token });

        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(again));
    }

    [Fact]
    public async Task TwentyParallelRedemptionsOfOneTokenHaveExactlyOneWinner()
    {
        var mail = await App.SignupAsync(TestApp.NewEmail());

        var responses = await Task.WhenAll(Enumerable.Range(0, 20)
            .Select(_ => App.PostAsync("/api/email/verify", new { token = mail.Token })));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        foreach (var r in responses.Where(r => r.StatusCode != HttpStatusCode.OK)) Assert.Equal("invalid_token", await TestApp.Code(r));
    }

    [Fact]
    public async Task TwentyParallelRedemptionsOfOneCodeHaveExactlyOneWinner()
    {
        var email = TestApp.NewEmail();
        var mail = await App.SignupAsync(email);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20)
            .Select(_ => App.PostAsync("/api/email/verify", new { email, code = mail.Code })));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(19, responses.Count(r => r.StatusCode == HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task TwoAccountsRacingToVerifyOneEmailHaveExactlyOneOwner()
    {
        var email = TestApp.NewEmail("shared");
        var first = await App.SignupAsync(email, "first account passphrase");
        var second = await App.SignupAsync(email, "second account passphrase");
        Assert.NotEqual(first.Token, second.Token);

        var results = await Task.WhenAll(
            App.PostAsync("/api/email/verify", new { token = first.Token }),
            App.PostAsync("/api/email/verify", new { token = second.Token }));

        Assert.Equal(1, results.Count(r => r.StatusCode == HttpStatusCode.OK));
        var loser = Assert.Single(results, r => r.StatusCode != HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Conflict, loser.StatusCode);
        Assert.Equal("email_taken", await TestApp.Code(loser));

        var winnerPassword = results[0].StatusCode == HttpStatusCode.OK ? "first account passphrase" : "second account passphrase";
        var loserPassword = winnerPassword.StartsWith("first") ? "second account passphrase" : "first account passphrase";
        await App.LoginAsync(email, winnerPassword);
        var lost = await App.PostAsync("/api/login", new { identifier = email, password = loserPassword });
        Assert.Equal("invalid_credentials", await TestApp.Code(lost));
    }

    [Fact]
    public async Task ALaterClaimantIsToldTheEmailIsTakenAndItsClaimIsDropped()
    {
        var email = TestApp.NewEmail("later");
        var first = await App.SignupAsync(email, "first account passphrase");
        var second = await App.SignupAsync(email, "second account passphrase");
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = first.Token })).StatusCode);

        var late = await App.PostAsync("/api/email/verify", new { email, code = second.Code });

        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal("email_taken", await TestApp.Code(late));
        var again = await App.PostAsync("/api/email/verify", new { token = second.Token });
        Assert.Equal("invalid_token", await TestApp.Code(again));
    }

    [Fact]
    public async Task FiveWrongCodesKillTheCode()
    {
        var email = TestApp.NewEmail();
        var mail = await App.SignupAsync(email);
        var wrong = mail.Code == "000000" ? "111111" : "000000";

        for (var i = 0; i < 5; i++)
            Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/email/verify", new { email, code = wrong })));
        var right = await App.PostAsync("/api/email/verify", new { email, code = mail.Code });

        Assert.Equal(HttpStatusCode.BadRequest, right.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(right));
        // The link of the same email still works: only the code is dead.
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = mail.Token })).StatusCode);
    }

    [Fact]
    public async Task ParallelWrongCodesAreAllCounted()
    {
        var email = TestApp.NewEmail();
        var mail = await App.SignupAsync(email);
        var wrong = Enumerable.Range(0, 10).Select(i => (int.Parse(mail.Code!) + 1 + i) % 1_000_000).Select(n => n.ToString("D6"));

        await Task.WhenAll(wrong.Select(code => App.PostAsync("/api/email/verify", new { email, code })));
        var right = await App.PostAsync("/api/email/verify", new { email, code = mail.Code });

        Assert.Equal("invalid_token", await TestApp.Code(right));
    }

    [Theory]
    [InlineData("""{"token":"garbage"}""")]
    [InlineData("""{"token":"AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}""")]
    [InlineData("""{"token":"a/b\\c#d?e"}""")]
    [InlineData("""{"email":"x@example.test","code":"12345"}""")]
    [InlineData("""{"email":"x@example.test","code":"abcdef"}""")]
    [InlineData("""{"email":"not an email","code":"123456"}""")]
    public async Task MalformedOrUnknownTokensAreInvalidToken(string body)
    {
        var response = await App.PostRawAsync("/api/email/verify", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(response));
    }

    [Fact]
    public async Task VerifyWithNeitherTokenNorCodeIsAValidationProblem()
    {
        var response = await App.PostRawAsync("/api/email/verify", "{}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_failed", await TestApp.Code(response));
    }
}
