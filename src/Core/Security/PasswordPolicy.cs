using System.Reflection;
using System.Text;

namespace AccountFunctions.Core.Security;

/// <summary>
/// NIST SP 800-63B / ASVS style: length 8..256 (counted in characters after NFKC), any Unicode,
/// no composition rules; refused when on the common-password list or equal to the email.
/// </summary>
public static class PasswordPolicy
{
    public const int MinLength = 8;
    public const int MaxLength = 256;

    private static readonly Lazy<HashSet<string>> Common = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("AccountFunctions.Core.Security.common-passwords.txt")
            ?? throw new InvalidOperationException("common-passwords.txt is not embedded");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
            if (line.Length > 0 && !line.StartsWith('#')) set.Add(line.Trim().ToLowerInvariant());
        return set;
    });

    /// <returns>null when acceptable, else the reason.</returns>
    public static Error? Check(string? password, string? email)
    {
        if (string.IsNullOrEmpty(password)) return Errors.Validation("password", "A password is required.");
        var normalized = password.Normalize(NormalizationForm.FormKC);
        var length = normalized.EnumerateRunes().Count();
        if (length < MinLength) return Errors.WeakPassword($"Use at least {MinLength} characters (15 or more is better).");
        if (length > MaxLength) return Errors.Validation("password", $"Use at most {MaxLength} characters.");
        if (Common.Value.Contains(normalized.ToLowerInvariant())) return Errors.WeakPassword("This password is too common.");
        if (email is not null && EmailAddress.Normalize(email).Normalize(NormalizationForm.FormKC) == normalized.Trim().ToLowerInvariant())
            return Errors.WeakPassword("The password must not be the email address.");
        return null;
    }
}
