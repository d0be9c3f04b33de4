using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;

namespace AccountFunctions.Core;

/// <summary>Email addresses are compared normalised (trimmed, NFC, lower-cased) and kept as entered for display.</summary>
public static class EmailAddress
{
    public const int MaxLength = 254;

    public static string Normalize(string email) =>
        email.Trim().Normalize(NormalizationForm.FormC).ToLowerInvariant();

    /// <summary>Hex SHA-256 of the normalised address: what table keys hold instead of the address.</summary>
    public static string Hash(string email) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Normalize(email))));

    public static bool IsValid(string email)
    {
        var e = email.Trim();
        if (e.Length is 0 or > MaxLength || e.Any(char.IsControl) || e.Any(char.IsWhiteSpace)) return false;
        var at = e.LastIndexOf('@');
        if (at <= 0 || at == e.Length - 1 || !e[(at + 1)..].Contains('.')) return false;
        try
        {
            var parsed = new MailAddress(e);
            return parsed.Address == e;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>For logs: never the full address.</summary>
    public static string Mask(string email)
    {
        var at = email.IndexOf('@');
        return at <= 0 ? "***" : $"{email[0]}***{email[at..]}";
    }
}
