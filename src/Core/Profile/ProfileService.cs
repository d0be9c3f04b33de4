using System.Text.Json;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Profile;

/// <summary>
/// PATCH /api/me: only the fields present change; a field sent as null is cleared. Names up to
/// 100 characters, bio 1000, location 200, avatarUrl an absolute https URL, preferences a JSON
/// object within <see cref="Preferences"/>' limits. Everything is checked before anything is written.
/// </summary>
public sealed class ProfileService(AccountsTable accounts, PasswordHasher hasher, LoginThrottle throttle,
    AccountDeletion deletion, TimeProvider time)
{
    /// <summary>
    /// DELETE /api/me: the current password confirms it (wrong tries are throttled per account like
    /// logins, against the same throttle), then the account and everything stored for it go. An account without a password
    /// sets one through forgot/reset first.
    /// </summary>
    public async Task<Result<bool>> DeleteAsync(string accountId, string? currentPassword, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(currentPassword)) return Errors.Validation("currentPassword", "The current password is required.");
        var account = await accounts.GetAsync(accountId, ct);
        if (account is null) return Errors.Unauthorized;
        // Counted against the account's login throttle, reserved before the check (issue 23).
        if (await throttle.CheckCurrentPasswordAsync(account, currentPassword, hasher, ct) is { } refused) return refused;
        await deletion.DeleteAsync(accountId, null, null, ct);
        return true;
    }

    public const int BioLength = 1000;
    public const int LocationLength = 200;
    public const int UrlLength = 2048;
    public const int PreferencesBytes = Preferences.MaxBytes;

    public async Task<Result<AccountView>> UpdateAsync(string accountId, Dictionary<string, JsonElement> patch, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        var changes = new List<Action<Account>>();
        foreach (var (name, value) in patch)
        {
            switch (name)
            {
                case "firstName": Text(name, value, FieldRules.NameLength, (a, v) => a.FirstName = v); break;
                case "lastName": Text(name, value, FieldRules.NameLength, (a, v) => a.LastName = v); break;
                case "bio": Text(name, value, BioLength, (a, v) => a.Bio = v, multiline: true); break;
                case "location": Text(name, value, LocationLength, (a, v) => a.Location = v); break;
                case "avatarUrl":
                    if (value.ValueKind == JsonValueKind.Null) { changes.Add(a => a.AvatarUrl = null); break; }
                    if (value.ValueKind != JsonValueKind.String) { errors[name] = ["Must be a string or null."]; break; }
                    if (!TryGetString(value, out var url)) { errors[name] = ["Must be valid Unicode text."]; break; }
                    url = url.Trim();
                    if (url.Length > UrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps
                        || string.IsNullOrEmpty(uri.Host) || !string.IsNullOrEmpty(uri.UserInfo))
                        errors[name] = ["Must be an absolute https URL."];
                    else
                        changes.Add(a => a.AvatarUrl = uri.AbsoluteUri);
                    break;
                case "preferences":
                    if (value.ValueKind == JsonValueKind.Null) { changes.Add(a => a.PreferencesJson = null); break; }
                    if (value.ValueKind != JsonValueKind.Object) { errors[name] = ["Must be a JSON object or null."]; break; }
                    var json = value.GetRawText();
                    if (Preferences.Check(json) is { } problem) errors[name] = [problem];
                    else changes.Add(a => a.PreferencesJson = json);
                    break;
                default:
                    break; // unknown fields are ignored, as everywhere in this API
            }
        }
        if (errors.Count > 0) return Errors.Validation(errors);

        // Two edits can always both apply (each is re-applied to the row as read): retry with
        // back-off rather than answer 409.
        Result<AccountView> result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var account = await accounts.GetAsync(accountId, ct);
            if (account is null)
            {
                result = Errors.Unauthorized;
                return true;
            }
            if (changes.Count > 0)
            {
                foreach (var change in changes) change(account);
                account.UpdatedAt = time.GetUtcNow();
                if (!await accounts.TryReplaceAsync(account, ct)) return false;
            }
            result = AccountView.From(account);
            return true;
        }, "Account kept changing during a profile update.", ct);
        return result;

        void Text(string name, JsonElement value, int max, Action<Account, string?> set, bool multiline = false)
        {
            if (value.ValueKind == JsonValueKind.Null) { changes.Add(a => set(a, null)); return; }
            if (value.ValueKind != JsonValueKind.String) { errors[name] = ["Must be a string or null."]; return; }
            // An escaped lone surrogate (\ud800) is valid JSON but not text: GetString throws on it.
            if (!TryGetString(value, out var text)) { errors[name] = ["Must be valid Unicode text."]; return; }
            text = text.Trim();
            if (text.Length > max) { errors[name] = [$"Use at most {max} characters."]; return; }
            if (text.Any(c => AccountFunctions.Core.Text.EmailText.IsRefused(c, multiline))) { errors[name] = ["Control characters are not allowed."]; return; }
            changes.Add(a => set(a, text.Length == 0 ? null : text));
        }
    }

    private static bool TryGetString(JsonElement value, out string text)
    {
        try { text = value.GetString()!; return true; }
        catch (InvalidOperationException) { text = ""; return false; }
    }
}
