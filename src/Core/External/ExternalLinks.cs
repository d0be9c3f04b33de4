using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.External;

/// <summary>
/// Linked provider logins. Two places hold a link, each with its own job:
/// <list type="bullet">
/// <item>the index row, table <c>identifiers</c>, PK <c>external-{sha256(provider \n sub)}</c>, RK <c>owner</c>:
/// finds the account at sign-in, and its AddEntity is the lock (one account per provider subject);</item>
/// <item>the list on the account (<c>Account.ExternalLoginsJson</c>): what /api/me shows, what unlinking
/// changes under the account's ETag, and the truth when the two disagree (see ExternalLoginService).</item>
/// </list>
/// </summary>
public static class ExternalLinks
{
    public const string OwnerRow = "owner";

    /// <summary>A link younger than this may be in the middle of being written (index row first, account second).</summary>
    public static readonly TimeSpan InFlight = TimeSpan.FromMinutes(2);

    public static string SubjectHash(string provider, string subject) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(provider + "\n" + subject)));

    public static string IndexKey(string subjectHash) => IdentifierIndex.ExternalKey(subjectHash);

    public static List<ExternalLogin> Read(Account account) =>
        account.ExternalLoginsJson is { Length: > 0 } json ? JsonSerializer.Deserialize<List<ExternalLogin>>(json, JsonOptions) ?? [] : [];

    public static void Write(Account account, List<ExternalLogin> links) =>
        account.ExternalLoginsJson = links.Count == 0 ? null : JsonSerializer.Serialize(links, JsonOptions);

    public static bool Has(Account account, string provider, string subjectHash) =>
        Read(account).Any(l => l.Provider == provider && l.Subject == subjectHash);

    public static List<ExternalLoginView> View(Account account) =>
        Read(account).Select(l => new ExternalLoginView(l.Provider, l.LinkedAt)).ToList();

    /// <summary>The index rows of an account's links, removed where they still point at it (account deletion).</summary>
    public static async Task RemoveIndexRowsAsync(IdentifierIndex identifiers, Account account, CancellationToken ct = default)
    {
        foreach (var link in Read(account)) await identifiers.ReleaseExternalOwnerAsync(link.Subject, account.Id, ct);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}
