using System.Security.Cryptography;
using System.Text;

namespace AccountFunctions.Core;

/// <summary>16-digit account numbers for accounts without an email; shown once, typed to sign in.</summary>
public static class AccountNumber
{
    public const int Length = 16;

    public static string New()
    {
        Span<char> digits = stackalloc char[Length];
        digits[0] = (char)('1' + RandomNumberGenerator.GetInt32(9)); // no leading zero: it survives spreadsheets
        for (var i = 1; i < Length; i++) digits[i] = (char)('0' + RandomNumberGenerator.GetInt32(10));
        return new string(digits);
    }

    /// <summary>The digits of an identifier typed with spaces or dashes, if it is an account number.</summary>
    public static string? Parse(string identifier)
    {
        if (identifier.Length > 40) return null;
        var digits = new string(identifier.Where(c => c is not ' ' and not '-').ToArray());
        return digits.Length == Length && digits.All(char.IsAsciiDigit) ? digits : null;
    }

    public static string Hash(string digits) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(digits)));
}
