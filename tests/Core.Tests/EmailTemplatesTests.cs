using System.Reflection;
using AccountFunctions.Core.Email;

namespace AccountFunctions.Core.Tests;

public sealed class EmailTemplatesTests
{
    private const string Link = "https://accounts.example.test/account/verify?token=abc123&x=1";
    private const string Code = "492817";

    private static EmailModel Model(string firstName = "Ann") =>
        new(new Dictionary<string, string> { ["firstName"] = firstName }, Link, Code);

    private static string[] TemplateConstants() =>
        typeof(EmailTemplates).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToArray();

    public static TheoryData<string> TemplateNames() => new(TemplateConstants());

    [Fact]
    public void ReflectionFindsTheTemplateConstants()
    {
        var names = TemplateConstants();
        Assert.Contains(EmailTemplates.VerifyEmail, names);
        Assert.Contains(EmailTemplates.AlreadyRegistered, names);
        Assert.Contains(EmailTemplates.LockedUnconfirmed, names);
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void EveryTemplateRendersWithAModel(string template)
    {
        var email = EmailTemplates.Render(template, Model());
        Assert.False(string.IsNullOrWhiteSpace(email.Subject));
        Assert.Contains("Hello Ann,", email.Text);
        Assert.Contains("Hello Ann,", email.Html);
        Assert.StartsWith("<!doctype html>", email.Html);
        Assert.EndsWith("</html>", email.Html);
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void EveryTemplateRendersWithAnEmptyModel(string template)
    {
        var email = EmailTemplates.Render(template, new EmailModel(new Dictionary<string, string>(), null, null));
        Assert.Contains("Hello,", email.Text);
        Assert.Contains("Hello,", email.Html);
    }

    [Fact]
    public void UnknownTemplateThrows()
    {
        Assert.Throws<InvalidOperationException>(() => EmailTemplates.Render("no_such_template", Model()));
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void FieldValuesAreHtmlEncodedInHtmlAndRawInText(string template)
    {
        var email = EmailTemplates.Render(template, Model("<script>alert(1)</script>"));
        Assert.DoesNotContain("<script>", email.Html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", email.Html);
        Assert.Contains("Hello <script>alert(1)</script>,", email.Text);
    }

    [Theory]
    [InlineData(EmailTemplates.ApprovalRequested, "userComment")]
    [InlineData(EmailTemplates.AccountRejected, "reason")]
    [InlineData(EmailTemplates.AccountLockedByAdmin, "reason")]
    public void MultiLineFieldsAreQuotedLineByLine(string template, string field)
    {
        var model = new EmailModel(new Dictionary<string, string> { [field] = "one\r\n\r\ntwo: https://evil.example.test\rthree <b>" }, Link, null);

        var email = EmailTemplates.Render(template, model);

        var lines = email.Text.ReplaceLineEndings("\n").Split('\n');
        Assert.Contains("> one", lines);
        Assert.Contains(">", lines);
        Assert.Contains("> two: https://evil.example.test", lines);
        Assert.Contains("> three <b>", lines);
        Assert.DoesNotContain("two: https://evil.example.test", lines);
        Assert.Contains(">one\n\ntwo: https://evil.example.test\nthree &lt;b&gt;</blockquote>", email.Html);
    }

    [Fact]
    public void VerifyEmailContainsLinkAndCodeInTextAndHtml()
    {
        var email = EmailTemplates.Render(EmailTemplates.VerifyEmail, Model());
        Assert.Contains(Link, email.Text);
        Assert.Contains(Code, email.Text);
        // The link's '&' is encoded in the HTML attribute.
        Assert.Contains("href=\"https://accounts.example.test/account/verify?token=abc123&amp;x=1\"", email.Html);
        Assert.Contains(Code, email.Html);
    }

    [Fact]
    public void VerifyEmailWithoutCodeOmitsCodeLine()
    {
        var email = EmailTemplates.Render(EmailTemplates.VerifyEmail,
            new EmailModel(new Dictionary<string, string>(), Link, null));
        Assert.DoesNotContain("Or enter this code", email.Text);
        Assert.DoesNotContain("Or enter this code", email.Html);
        Assert.Contains(Link, email.Text);
    }

    [Fact]
    public void PageForVerifyEmailIsVerify()
    {
        Assert.Equal("verify", EmailTemplates.PageFor(EmailTemplates.VerifyEmail));
    }

    [Fact]
    public void PageForTemplatesWithoutLinkIsNull()
    {
        Assert.Null(EmailTemplates.PageFor(EmailTemplates.AlreadyRegistered));
        Assert.Null(EmailTemplates.PageFor(EmailTemplates.LockedUnconfirmed));
    }

    [Fact]
    public void ModelJsonRoundTrips()
    {
        var fields = new Dictionary<string, string> { ["firstName"] = "Zoë <x>", ["other"] = "\"q\"" };
        var parsed = EmailTemplates.ParseModel(EmailTemplates.ModelJson(fields));
        Assert.Equal(fields.OrderBy(p => p.Key), parsed.OrderBy(p => p.Key));
    }

    [Fact]
    public void ModelIndexerReturnsEmptyForMissingField()
    {
        Assert.Equal("", Model()["missing"]);
        Assert.Equal("Ann", Model()["firstName"]);
    }
}
