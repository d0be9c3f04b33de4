using System.Net;
using System.Text.Json;
using AccountFunctions.Core.Text;

namespace AccountFunctions.Core.Email;

public sealed record RenderedEmail(string Subject, string Text, string Html);

/// <summary>What an email needs at send time: its fields, the link (if any) and the code (if any).</summary>
public sealed record EmailModel(IReadOnlyDictionary<string, string> Fields, string? Link, string? Code)
{
    public string this[string key] => Fields.TryGetValue(key, out var v) ? v : "";
}

/// <summary>
/// The emails this system sends, as text and HTML. Every value is HTML-encoded in the HTML
/// part; links are always built from Accounts__PublicBaseUrl, never from a request.
/// </summary>
public static class EmailTemplates
{
    public const string VerifyEmail = "verify_email";
    public const string AlreadyRegistered = "already_registered";
    public const string LockedUnconfirmed = "locked_unconfirmed";
    public const string ApprovalRequested = "approval_requested";
    public const string AccountApproved = "account_approved";
    public const string AccountRejected = "account_rejected";
    public const string AccountLockedByAdmin = "account_locked";
    public const string AccountUnlocked = "account_unlocked";
    public const string MagicLink = "magic_link";
    public const string PasswordReset = "password_reset";
    public const string PasswordChanged = "password_changed";
    public const string ConfirmEmailChange = "confirm_email_change";
    public const string EmailChangeRequested = "email_change_requested";
    public const string EmailChangeTaken = "email_change_taken";
    public const string EmailChangeCode = "email_change_code";
    public const string EmailReverted = "email_reverted";
    public const string EmailRevertConflict = "email_revert_conflict";
    public const string LockedUnconfirmedChange = "locked_unconfirmed_change";

    /// <summary>Which page of /account/ a template's link opens.</summary>
    public static string? PageFor(string template) => template switch
    {
        VerifyEmail => "verify",
        ApprovalRequested => "manage",
        MagicLink => "magic",
        PasswordReset => "reset-password",
        ConfirmEmailChange => "verify",
        EmailChangeRequested => "revert-email",
        EmailReverted => "reset-password",
        _ => null,
    };

    /// <summary>Fields that may span lines (the signup note, an admin's reason); every other field is made one line.</summary>
    private static readonly HashSet<string> MultiLineFields = ["userComment", "reason"];

    /// <summary>
    /// Renders with every field cleaned first (Text.EmailText), however it was stored: a name can
    /// never start a new line of the text, and the subject is one line.
    /// </summary>
    public static RenderedEmail Render(string template, EmailModel model)
    {
        var fields = model.Fields.ToDictionary(f => f.Key,
            f => MultiLineFields.Contains(f.Key) ? EmailText.MultiLine(f.Value) : EmailText.SingleLine(f.Value) ?? "");
        var rendered = RenderClean(template, model with { Fields = fields });
        return rendered with { Subject = EmailText.SingleLine(rendered.Subject)! };
    }

    private static RenderedEmail RenderClean(string template, EmailModel m) => template switch
    {
        VerifyEmail => Compose(
            "Confirm your email address",
            $"Hello{Name(m)},",
            ["Please confirm your email address to finish creating your account."],
            m.Link, "Confirm my email address", m.Code,
            "If you did not sign up, ignore this email; the account will not be activated."),
        AlreadyRegistered => Compose(
            "Someone tried to sign up with your email address",
            $"Hello{Name(m)},",
            ["Someone (perhaps you) tried to create a new account with this email address, which already has an account.",
             "You can sign in with your existing account, or reset your password if you forgot it."],
            null, null, null,
            "If this wasn't you, no action is needed: no new account was created."),
        LockedUnconfirmed => Compose(
            "Your account has been locked",
            $"Hello{Name(m)},",
            ["Your email address was not confirmed in time, so your account has been locked.",
             "Only an administrator can unlock it; when they do, you will receive a new confirmation link."],
            null, null, null,
            "If you did not create this account, no action is needed."),
        ApprovalRequested => Compose(
            "A new account is waiting for approval",
            $"Hello{Name(m)},",
            [$"{Describe(m)} confirmed their email address and is waiting for an administrator's approval.",
             m["userComment"] is { Length: > 0 } c ? new Para("Their note for you:", c) : "They left no note.",
             $"Account id: {m["userId"]}"],
            m.Link, "Review pending accounts", null,
            "You receive this because you are an administrator."),
        AccountApproved => Compose(
            "Your account has been approved",
            $"Hello{Name(m)},",
            ["An administrator approved your account. You can sign in now."],
            null, null, null, "Welcome aboard."),
        AccountRejected => Compose(
            "Your account was not approved",
            $"Hello{Name(m)},",
            ["An administrator did not approve your account.",
             m["reason"] is { Length: > 0 } r ? new Para("Reason given:", r) : "No reason was given."],
            null, null, null, "If you think this is a mistake, reply to your administrator."),
        AccountLockedByAdmin => Compose(
            "Your account has been locked",
            $"Hello{Name(m)},",
            ["An administrator locked your account; you have been signed out everywhere.",
             m["reason"] is { Length: > 0 } r2 ? new Para("Reason given:", r2) : "No reason was given."],
            null, null, null, "Only an administrator can unlock it."),
        AccountUnlocked => Compose(
            "Your account has been unlocked",
            $"Hello{Name(m)},",
            ["An administrator unlocked your account. You can sign in again."],
            null, null, null, "If you did not expect this, reset your password."),
        MagicLink => Compose(
            "Your sign-in link",
            $"Hello{Name(m)},",
            ["Use this link or code to sign in. It works once, for a few minutes."],
            m.Link, "Sign me in", m.Code,
            "If you did not ask to sign in, ignore this email; nobody can sign in without it."),
        PasswordReset => Compose(
            "Reset your password",
            $"Hello{Name(m)},",
            ["Someone (hopefully you) asked to reset the password of your account. The link works once, for a short time."],
            m.Link, "Choose a new password", null,
            "If you did not ask for this, ignore this email: your password stays as it is."),
        PasswordChanged => Compose(
            "Your password was changed",
            $"Hello{Name(m)},",
            ["The password of your account was just changed, and other sessions were signed out."],
            null, null, null,
            "If this wasn't you, reset your password at once and tell your administrator."),
        ConfirmEmailChange => Compose(
            "Confirm your new email address",
            $"Hello{Name(m)},",
            ["Please confirm that this is the new email address of your account. Until you do, you keep signing in with your current address."],
            m.Link, "Confirm my new email address", m.Code,
            "If you did not ask for this, ignore this email; nothing changes."),
        EmailChangeRequested => Compose(
            "Your email address is being changed",
            $"Hello{Name(m)},",
            [$"Someone signed in to your account asked to change its email address to {m["newEmail"]}.",
             "If that was you, there is nothing to do. If it wasn't, use the link below within 7 days: it keeps this address on the account, signs everyone out and asks for a new password."],
            m.Link, "This wasn't me: keep my address", null,
            "The link works once."),
        EmailChangeTaken => Compose(
            "Someone tried to move an account to your email address",
            $"Hello{Name(m)},",
            ["Someone tried to change the email address of another account to this address, which already belongs to your account.",
             "Nothing was changed, and your account is not affected."],
            null, null, null,
            "No action is needed."),
        EmailChangeCode => Compose(
            "Your code to change your email address",
            $"Hello{Name(m)},",
            [$"Use this code to confirm that you want to change the email address of your account to {m["newEmail"]}. It works once, for a few minutes."],
            null, null, m.Code,
            "If you did not ask for this, ignore this email; nothing changes without the code."),
        EmailReverted => Compose(
            "Your email address was restored",
            $"Hello{Name(m)},",
            ["The change of your account's email address was undone: this address is the account's address again, and every session was signed out.",
             "The password was cleared as well, since whoever changed the address may know it. Choose a new one with the link below."],
            m.Link, "Choose a new password", null,
            "If the link has expired, use \"Forgot password\" with this address."),
        EmailRevertConflict => Compose(
            "Your account has been locked",
            $"Hello{Name(m)},",
            ["You asked to undo a change of your account's email address, but this address has since been confirmed by another account, so it cannot be given back.",
             "To protect you, the old account was locked, signed out everywhere and its password cleared. Only an administrator can unlock it."],
            null, null, null,
            "Contact your administrator if you need that account back."),
        LockedUnconfirmedChange => Compose(
            "Your account has been locked",
            $"Hello{Name(m)},",
            [$"The new email address requested for your account ({m["newEmail"]}) was not confirmed in time, so your account has been locked and signed out everywhere.",
             "Only an administrator can unlock it; when they do, a new confirmation link goes to the new address."],
            null, null, null,
            "If you did not ask to change your address, tell your administrator."),
        _ => throw new InvalidOperationException($"Unknown email template '{template}'."),
    };

    public static string ModelJson(IReadOnlyDictionary<string, string> fields) => JsonSerializer.Serialize(fields);

    public static IReadOnlyDictionary<string, string> ParseModel(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];

    private static string Describe(EmailModel m)
    {
        var name = $"{m["userFirstName"]} {m["userLastName"]}".Trim();
        var email = m["userEmail"];
        return name.Length > 0 ? (email.Length > 0 ? $"{name} ({email})" : name) : email.Length > 0 ? email : "An account without an email address";
    }

    private static string Name(EmailModel m) => m["firstName"] is { Length: > 0 } n ? " " + n : "";

    /// <summary>
    /// A paragraph of ours, optionally followed by text someone wrote (a multi-line field) shown as
    /// a quotation: each of its lines behind "> " in the text part, a blockquote in the HTML, so no
    /// line of it reads as a line of the email (a forged "Approve here: ..." stays visibly theirs).
    /// </summary>
    private sealed record Para(string Text, string? Quote = null)
    {
        public static implicit operator Para(string text) => new(text);

        public string[] QuoteLines => Quote!.Trim().ReplaceLineEndings("\n").Split('\n');
    }

    private static RenderedEmail Compose(string subject, string greeting, Para[] paragraphs,
        string? link, string? linkText, string? code, string footer)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine(greeting).AppendLine();
        foreach (var p in paragraphs)
        {
            text.AppendLine(p.Text);
            if (p.Quote is not null)
                foreach (var line in p.QuoteLines) text.AppendLine(line.Length == 0 ? ">" : "> " + line);
            text.AppendLine();
        }
        if (link is not null) text.AppendLine($"{linkText}: {link}").AppendLine();
        if (code is not null) text.AppendLine($"Or enter this code: {code}").AppendLine();
        text.AppendLine(footer);

        var e = (string s) => WebUtility.HtmlEncode(s);
        var html = new System.Text.StringBuilder();
        html.Append("<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">");
        html.Append($"<p>{e(greeting)}</p>");
        foreach (var p in paragraphs)
        {
            html.Append($"<p>{e(p.Text)}</p>");
            if (p.Quote is not null)
                html.Append("<blockquote style=\"margin:0 0 1em;padding-left:1em;border-left:3px solid #ccc;white-space:pre-wrap\">")
                    .Append(e(string.Join('\n', p.QuoteLines))).Append("</blockquote>");
        }
        if (link is not null) html.Append($"<p><a href=\"{e(link)}\">{e(linkText!)}</a></p>");
        if (code is not null) html.Append($"<p>Or enter this code: <strong style=\"font-size:1.4em;letter-spacing:.2em\">{e(code)}</strong></p>");
        html.Append($"<p style=\"color:#555\">{e(footer)}</p></body></html>");
        return new RenderedEmail(subject, text.ToString(), html.ToString());
    }
}
