using System.Text;

namespace AccountFunctions.Core.Text;

/// <summary>
/// Text that ends up in an email. A line break in a name would start a new line of the greeting
/// (text the reader takes for ours) or, in a header value, a new header. Input is refused for it at
/// the edge; the email layer still makes every single-line value (names, subjects, the To name)
/// one line, whatever is stored.
/// </summary>
public static class EmailText
{
    public static bool IsLineBreakOrControl(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';

    /// <summary>Refused in a text field: any control character, except line breaks and tabs in a multi-line field.</summary>
    public static bool IsRefused(char c, bool multiline) =>
        IsLineBreakOrControl(c) && !(multiline && c is '\n' or '\r' or '\t');

    /// <summary>The value on one line: every run of control characters and line separators becomes one space; lone surrogates U+FFFD.</summary>
    public static string? SingleLine(string? value)
    {
        if (value is null) return null;
        value = UnicodeText.Scrub(value)!;
        if (!value.Any(IsLineBreakOrControl)) return value;
        var b = new StringBuilder(value.Length);
        var gap = false;
        foreach (var c in value)
        {
            if (IsLineBreakOrControl(c)) { gap = true; continue; }
            if (gap && b.Length > 0) b.Append(' ');
            gap = false;
            b.Append(c);
        }
        return b.ToString();
    }

    /// <summary>A multi-line value: line breaks and tabs stay, other control characters go.</summary>
    public static string MultiLine(string value) =>
        new(UnicodeText.Scrub(value)!.Where(c => !IsRefused(c, multiline: true)).ToArray());
}
