using System.Security.Cryptography;
using System.Text;

namespace AccountFunctions.Core.Security;

public static class Hashes
{
    /// <summary>Lower-case hex SHA-256 of the UTF-8 text: how keys name a subject without holding it.</summary>
    public static string Sha256Hex(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
