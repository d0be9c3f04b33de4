using System.Text.Json;
using AccountFunctions.Core.Profile;
using AccountFunctions.Core.Text;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core;

public sealed record ProfileView(string? AvatarUrl, string? Bio, string? Location, JsonElement? Preferences);

/// <summary>The contract's Account object.</summary>
public sealed record AccountView(
    string Id, string? Email, bool EmailVerified, string? PendingEmail, string? AccountNumber,
    string Status, string Role, string? FirstName, string? LastName, ProfileView Profile,
    bool MfaEnabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? LastLoginAt)
{
    // Every stored string is scrubbed on its way out (UnicodeText): whatever reached a row (an
    // older version, a tool, a direct write), one value must not fail the response that carries
    // it, nor every page of the admin list that holds the account. Stored preferences that do
    // not fit Preferences' limits are shown as none (and logged), the row left as it is.
    public static AccountView From(Account a, ILogger? log = null) => new(
        a.Id, S(a.Email), a.EmailVerified, S(a.PendingEmail), a.AccountNumber, a.Status, a.Role, S(a.FirstName), S(a.LastName),
        new ProfileView(S(a.AvatarUrl), S(a.Bio), S(a.Location), StoredPreferences(a, log)),
        a.MfaEnabled, a.CreatedAt, a.UpdatedAt, a.LastLoginAt);

    private static string? S(string? s) => UnicodeText.Scrub(s);

    private static JsonElement? StoredPreferences(Account a, ILogger? log)
    {
        var value = Preferences.Render(a.PreferencesJson, out var unreadable);
        if (unreadable)
            log?.LogWarning("Stored preferences of account {AccountId} are not an object within the limits ({Length} characters); left out of the answer.",
                a.Id, a.PreferencesJson!.Length);
        return value;
    }
}

/// <summary>The contract's Session object.</summary>
public sealed record SessionView(
    string AccessToken, string TokenType, int ExpiresIn, string? RefreshToken, int RefreshExpiresIn, AccountView Account);

/// <summary>The contract's Account object plus what only admins see: the note left at signup.</summary>
public sealed record ManagedAccountView(
    string Id, string? Email, bool EmailVerified, string? PendingEmail, string? AccountNumber,
    string Status, string Role, string? FirstName, string? LastName, ProfileView Profile,
    bool MfaEnabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? LastLoginAt, string? Comment)
{
    public static ManagedAccountView From(Account a, ILogger? log = null)
    {
        var v = AccountView.From(a, log);
        return new(v.Id, v.Email, v.EmailVerified, v.PendingEmail, v.AccountNumber, v.Status, v.Role, v.FirstName, v.LastName,
            v.Profile, v.MfaEnabled, v.CreatedAt, v.UpdatedAt, v.LastLoginAt, UnicodeText.Scrub(a.Comment));
    }
}
