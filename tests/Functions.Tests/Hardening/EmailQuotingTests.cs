using System.Net;
using System.Text.RegularExpressions;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>Approval mode with one bootstrap admin, signed up, verified and signed in.</summary>
public sealed class ApprovalAdminFixture : AdminFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Accounts:RequireAdminApproval"] = "true",
    };
}

/// <summary>
/// Issue 23 (smaller findings): text a person wrote that may span lines (the signup comment, an
/// admin's reason) is shown as a quotation in the email, so none of its lines reads as the email's own.
/// </summary>
public sealed class EmailQuotingTests(ApprovalAdminFixture fixture) : IClassFixture<ApprovalAdminFixture>
{
    private TestApp App => fixture.App;

    // CRLF, LF and a lone CR: each starts a line in some mail client.
    private const string Forged = "Thanks!\r\n\r\nApprove here: https://evil.example.test/account/manage\nAccount id: 0000\rWelcome aboard.";
    private static readonly string[] ForgedLines =
        ["Thanks!", "Approve here: https://evil.example.test/account/manage", "Account id: 0000", "Welcome aboard."];

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").Split('\n');

    /// <summary>Every forged line is in the text only behind the quote mark, and in the HTML only inside the blockquote.</summary>
    private static void AssertQuoted(SentEmail mail)
    {
        var lines = Lines(mail.Text);
        foreach (var forged in ForgedLines)
        {
            Assert.Contains("> " + forged, lines);
            Assert.DoesNotContain(forged, lines);
        }
        Assert.Contains(">", lines); // the blank line of the comment stays inside the quotation
        var quote = Regex.Match(mail.Html, "<blockquote[^>]*>(.*?)</blockquote>", RegexOptions.Singleline);
        Assert.True(quote.Success, "no blockquote in the HTML part");
        Assert.Contains("Approve here: https://evil.example.test/account/manage", quote.Groups[1].Value);
        Assert.DoesNotContain("evil.example.test", mail.Html.Remove(quote.Index, quote.Length));
        Assert.DoesNotContain("<a href=\"https://evil", mail.Html);
    }

    private async Task<(string Email, string Id)> PendingAsync(string? comment = null)
    {
        var email = TestApp.NewEmail("quoted");
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/signup", new { email, password = TestApp.Password, firstName = "Pat", comment })).StatusCode);
        var mail = (await App.Mail.WaitForAsync(email)).Single();
        var verified = await App.PostAsync("/api/email/verify", new { token = mail.Token });
        Assert.Equal("pending_approval", (await TestApp.Body(verified)).GetProperty("status").GetString());
        var list = await TestApp.Body(await App.GetAsync($"/api/manage/users?q={Uri.EscapeDataString(email)}", fixture.AdminToken));
        return (email, list.GetProperty("items")[0].GetProperty("id").GetString()!);
    }

    private async Task<SentEmail> WaitForAsync(string to, Func<SentEmail, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (App.Mail.To(to).FirstOrDefault(match) is { } found) return found;
            await Task.Delay(50);
        }
        throw new TimeoutException($"No matching email to {to}.");
    }

    [Fact]
    public async Task AMultiLineSignupCommentIsQuotedInTheAdminsApprovalEmail()
    {
        var (email, _) = await PendingAsync(Forged);

        var notice = await WaitForAsync(fixture.AdminEmail, m => m.Text.Contains(email));

        Assert.Equal("A new account is waiting for approval", notice.Subject);
        AssertQuoted(notice);
        Assert.Single(Lines(notice.Text), l => l.StartsWith("Review pending accounts: https://accounts.example.test/account/manage", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARejectReasonIsQuotedInTheUsersEmail()
    {
        var (email, id) = await PendingAsync();

        var rejected = await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/reject", new { reason = Forged }, fixture.AdminToken);

        Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        AssertQuoted(await WaitForAsync(email, m => m.Subject == "Your account was not approved"));
    }

    [Fact]
    public async Task ALockReasonIsQuotedInTheUsersEmail()
    {
        var (email, id) = await PendingAsync();
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/approve", null, fixture.AdminToken)).StatusCode);

        var locked = await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/lock", new { reason = Forged }, fixture.AdminToken);

        Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        AssertQuoted(await WaitForAsync(email, m => m.Subject == "Your account has been locked"));
    }
}
