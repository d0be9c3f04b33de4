using System.Net;
using System.Text.Json;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>maildev on free ports: the SMTP transport (MailKit) really delivers to an inbox.</summary>
public sealed class SmtpFixture : IAsyncLifetime
{
    private System.Diagnostics.Process? _maildev;
    public TestApp App { get; private set; } = null!;
    public int WebPort { get; private set; }

    public async Task InitializeAsync()
    {
        int smtp = Repo.FreePort();
        WebPort = Repo.FreePort();
        _maildev = Repo.StartNode("maildev", $"--smtp {smtp} --web {WebPort} --ip 127.0.0.1 --silent");
        await Repo.WaitForPortAsync(smtp, _maildev, "maildev");
        await Repo.WaitForPortAsync(WebPort, _maildev, "maildev");
        App = await TestApp.StartAsync(new Dictionary<string, string?>
        {
            ["Email:Transport"] = "Smtp",
            ["Email:Smtp:Host"] = "127.0.0.1",
            ["Email:Smtp:Port"] = smtp.ToString(),
            ["Email:From"] = "accounts@example.test",
        });
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        if (_maildev is not null) Repo.Kill(_maildev);
    }
}

public sealed class SmtpTransportTests(SmtpFixture fixture) : IClassFixture<SmtpFixture>
{
    [Fact]
    public async Task TheVerificationEmailArrivesInTheSmtpInboxAndItsCodeVerifies()
    {
        var app = fixture.App;
        var email = TestApp.NewEmail("smtp");
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostAsync("/api/signup", new { email, password = TestApp.Password })).StatusCode);

        using var http = new HttpClient();
        JsonElement? message = null;
        for (var i = 0; i < 100 && message is null; i++)
        {
            var inbox = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{fixture.WebPort}/email")).RootElement;
            message = inbox.EnumerateArray().Cast<JsonElement?>().FirstOrDefault(m => m!.Value.GetProperty("to")[0].GetProperty("address").GetString() == email);
            if (message is null) await Task.Delay(100);
        }

        Assert.NotNull(message);
        var m = message.Value;
        Assert.Equal("Confirm your email address", m.GetProperty("subject").GetString());
        Assert.Equal("accounts@example.test", m.GetProperty("from")[0].GetProperty("address").GetString());
        Assert.Contains("@account-functions", m.GetProperty("messageId").GetString());
        var text = m.GetProperty("text").GetString()!;
        var code = System.Text.RegularExpressions.Regex.Match(text, @"code: (\d{6})").Groups[1].Value;
        Assert.Contains("https://accounts.example.test/account/verify?token=", text);
        Assert.Contains("<a href=", m.GetProperty("html").GetString());
        var verify = await app.PostAsync("/api/email/verify", new { email, code });
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
    }
}
