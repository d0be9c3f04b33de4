namespace AccountFunctions.Core;

/// <summary>
/// The free-text fields of an account (names, the signup comment, an admin's reason): their
/// longest lengths and the one check of length and characters every flow uses.
/// </summary>
public static class FieldRules
{
    public const int NameLength = 100;
    public const int CommentLength = 1000;

    /// <summary>
    /// Length and characters of a text field. Single-line fields (names) refuse every control
    /// character and the Unicode line and paragraph separators: they end up in email greetings and
    /// the To header. Multi-line ones (the signup comment, a reason) may hold line breaks and tabs.
    /// </summary>
    public static void Check(Dictionary<string, string[]> errors, string field, string? value, int max, bool multiline = false)
    {
        if (value is null) return;
        if (value.Length > max) errors[field] = [$"Use at most {max} characters."];
        else if (value.Any(c => Text.EmailText.IsRefused(c, multiline))) errors[field] = ["Control characters are not allowed."];
    }
}
