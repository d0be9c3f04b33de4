using System.Net;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Core.Email;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>Issue 15.4: no line break of a name reaches an email's text or headers.</summary>
public sealed class EmailHeaderTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    [Theory]
    [InlineData("firstName", "V\r\nPlease wire money to ...")]
    [InlineData("firstName", "V\nX")]
    [InlineData("lastName", "L\u2028X")]
    [InlineData("firstName", "tab\there")]
    [InlineData("lastName", "nul\u0000")]
    public async Task SignupRefusesLineBreaksAndControlCharactersInNames(string field, string value)
    {
        var email = TestApp.NewEmail("crlf");
        var body = new Dictionary<string, object?> { ["email"] = email, ["password"] = TestApp.Password, [field] = value };
        foreach (var path in new[] { "/api/signup", "/api/signup/email" })
        {
            var response = await App.PostAsync(path, body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await TestApp.Body(response)).GetProperty("errors").TryGetProperty(field, out _));
        }
        await App.EmailsSettledAsync();
        Assert.Empty(App.Mail.To(email));
    }

    [Fact]
    public async Task TheSignupCommentMayStillHoldLineBreaks()
    {
        var email = TestApp.NewEmail("comment");
        var response = await App.PostAsync("/api/signup", new { email, password = TestApp.Password, firstName = "Ann", comment = "line one\r\nline two" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var mail = (await App.Mail.WaitForAsync(email))[0];
        Assert.StartsWith("Hello Ann,", mail.Text);
    }

    [Fact]
    public async Task ANameWithLineBreaksAlreadyStoredStaysOnOneLineInTheEmail()
    {
        var email = TestApp.NewEmail("stored-crlf");
        await App.SignupVerifiedAsync(email);
        var id = (await App.LoginAsync(email)).GetProperty("account").GetProperty("id").GetString()!;
        var account = (await App.Storage.Accounts.GetEntityAsync<Account>(id, Account.Row)).Value;
        account.FirstName = "V\r\n\r\nYour account is suspended, call +1 555";
        await App.Storage.Accounts.UpdateEntityAsync(account, account.ETag);

        var before = App.Mail.To(email).Count;
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/password/forgot", new { email })).StatusCode);
        var mail = (await App.Mail.WaitForAsync(email, before + 1))[before];

        var firstLine = mail.Text.Split('\n')[0].TrimEnd('\r');
        Assert.Equal("Hello V Your account is suspended, call +1 555,", firstLine);
        Assert.DoesNotContain("\r\n\r\nYour account", mail.Text);
        Assert.DoesNotContain("V\r", mail.Subject);
    }

    [Fact]
    public async Task TheSendGridTransportPutsNoControlCharacterIntoTheToNameOrSubject()
    {
        var captured = new CapturingHandler();
        var transport = new SendGridTransport(new EmailOptions { From = "no-reply@example.test", FromName = "Acc\r\nBcc: x@evil.test", SendGrid = new() { ApiKey = "SG.x" } },
            new HttpClient(captured));
        var email = new OutgoingEmail("m1", "to@example.test", "V\r\nBcc: victim@example.test",
            new RenderedEmail("Subject\r\nX-Injected: 1", "text", "<p>html</p>"));

        await transport.SendAsync(email, CancellationToken.None);

        using var sent = JsonDocument.Parse(captured.Body!);
        var to = sent.RootElement.GetProperty("personalizations")[0].GetProperty("to")[0];
        Assert.Equal("V Bcc: victim@example.test", to.GetProperty("name").GetString());
        var subject = sent.RootElement.TryGetProperty("subject", out var s) ? s : sent.RootElement.GetProperty("personalizations")[0].GetProperty("subject");
        Assert.Equal("Subject X-Injected: 1", subject.GetString());
        Assert.Equal("Acc Bcc: x@evil.test", sent.RootElement.GetProperty("from").GetProperty("name").GetString());
    }

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public string? Body;
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Body = await request.Content!.ReadAsStringAsync(ct);
            return new HttpResponseMessage(HttpStatusCode.Accepted);
        }
    }
}
