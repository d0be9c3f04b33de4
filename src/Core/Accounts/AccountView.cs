using System.Text.Json;

namespace AccountFunctions.Core;

public sealed record ProfileView(string? AvatarUrl, string? Bio, string? Location, JsonElement? Preferences);

/// <summary>The contract's Account object.</summary>
public sealed record AccountView(
    string Id, string? Email, bool EmailVerified, string? PendingEmail, string? AccountNumber,
    string Status, string Role, string? FirstName, string? LastName, ProfileView Profile,
    bool MfaEnabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? LastLoginAt)
{
    public static AccountView From(Account a) => new(
        a.Id, a.Email, a.EmailVerified, a.PendingEmail, a.AccountNumber, a.Status, a.Role, a.FirstName, a.LastName,
        new ProfileView(a.AvatarUrl, a.Bio, a.Location,
            a.PreferencesJson is { Length: > 0 } p ? JsonDocument.Parse(p).RootElement.Clone() : null),
        a.MfaEnabled, a.CreatedAt, a.UpdatedAt, a.LastLoginAt);
}

/// <summary>The contract's Session object.</summary>
public sealed record SessionView(
    string AccessToken, string TokenType, int ExpiresIn, string? RefreshToken, int RefreshExpiresIn, AccountView Account);
