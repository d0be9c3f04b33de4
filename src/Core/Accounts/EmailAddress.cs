using System.Globalization;
using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;

namespace AccountFunctions.Core;

/// <summary>
/// Email addresses are compared normalised (trimmed, NFC, lower-cased; the domain UTS #46-mapped,
/// in its Unicode form) and kept as entered for display. Only plain addresses are accepted: a dot-atom
/// local part (no quotes, comments or backslashes, no leading, trailing or doubled dots) and a
/// host name of two or more labels (no trailing dot, no IP literal). Forms a mail server treats
/// as the same mailbox as a plain spelling (<c>u@example.test.</c>, <c>"u"@example.test</c>) are
/// refused rather than normalised, so two spellings cannot become two accounts.
/// The domain is what a resolver looks up: UTS #46 mapping folds case, full-width and other
/// compatibility forms (<c>ｅｘａｍｐｌｅ.test</c>, <c>example。test</c>), drops ignorable characters
/// and makes <c>xn--</c> labels and their Unicode spelling one. The local part belongs to the
/// receiving server, so it is only composed (NFC) and lower-cased, never compatibility-folded.
/// </summary>
public static class EmailAddress
{
    public const int MaxLength = 254;
    private const int MaxLocalLength = 64;
    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    public static string Normalize(string email)
    {
        var e = email.Trim().Normalize(NormalizationForm.FormC);
        var at = e.LastIndexOf('@');
        if (at > 0 && AsciiDomain(e[(at + 1)..]) is { } ascii)
        {
            try { e = e[..(at + 1)] + Idn.GetUnicode(ascii).Normalize(NormalizationForm.FormC); }
            catch (ArgumentException) { }
        }
        return e.ToLowerInvariant();
    }

    /// <summary>The domain after UTS #46 mapping, as ASCII (<c>xn--</c> labels); null when it cannot be mapped.</summary>
    private static string? AsciiDomain(string domain)
    {
        try { return Idn.GetAscii(domain); }
        catch (ArgumentException) { return null; }
    }

    /// <summary>Hex SHA-256 of the normalised address: what table keys hold instead of the address.</summary>
    public static string Hash(string email) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Normalize(email))));

    public static bool IsValid(string email)
    {
        var e = email.Trim();
        if (e.Length is 0 or > MaxLength || e.Any(char.IsControl) || e.Any(char.IsWhiteSpace) || !Text.UnicodeText.IsValid(e)) return false;
        var at = e.IndexOf('@');
        if (at <= 0 || at != e.LastIndexOf('@') || at == e.Length - 1) return false;
        var (local, domain) = (e[..at], e[(at + 1)..]);
        // The host name rules hold for the domain as it is looked up, so a mapped spelling cannot
        // smuggle in a trailing or doubled dot, a leading hyphen or an underscore.
        if (local.Length > MaxLocalLength || !IsDotAtom(local) || AsciiDomain(domain) is not { } ascii || !IsHostName(ascii)) return false;
        try
        {
            var plain = $"{local}@{ascii}";
            return new MailAddress(plain).Address == plain;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    // RFC 5322 atext, plus any non-ASCII character (RFC 6531), in dot-separated non-empty atoms.
    private static bool IsDotAtom(string local) =>
        local.Split('.').All(atom => atom.Length > 0 && atom.All(c => char.IsAsciiLetterOrDigit(c) || c > '\u007f' || "!#$%&'*+-/=?^_`{|}~".Contains(c)));

    private static bool IsHostName(string domain)
    {
        var labels = domain.Split('.');
        return labels.Length >= 2 && labels.All(label => label.Length is > 0 and <= 63 && label[0] != '-' && label[^1] != '-'
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || c > '\u007f'));
    }

    /// <summary>For logs: never the full address.</summary>
    public static string Mask(string email)
    {
        var at = email.IndexOf('@');
        return at <= 0 ? "***" : $"{email[0]}***{email[at..]}";
    }
}
