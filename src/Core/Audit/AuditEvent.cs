namespace AccountFunctions.Core.Audit;

/// <summary>
/// The one list of audit event types (docs/security.md, "Audit trail", explains each). Record
/// with <c>audit.RecordAsync(AuditEvent.X, accountId, client?.IpAddress, detail, actorId)</c>
/// after the change has committed. Detail is small and never holds a password, token or code.
/// </summary>
public static class AuditEvent
{
    public const string Signup = "signup";
    public const string EmailVerified = "email_verified";
    /// <summary>Only when the identifier belongs to an account; the account id is recorded, never what was typed.</summary>
    public const string LoginFailed = "login_failed";
    public const string LoginSucceeded = "login_succeeded";
    /// <summary>Once per window, when an account's identifier reaches the failed-login limit.</summary>
    public const string LoginThrottled = "login_throttled";
    public const string MagicLinkSent = "magic_link_sent";
    public const string MagicLinkRedeemed = "magic_link_redeemed";
    /// <summary>Known accounts only: an unknown address leaves no trace.</summary>
    public const string PasswordResetRequested = "password_reset_requested";
    public const string PasswordReset = "password_reset";
    public const string PasswordChanged = "password_changed";
    public const string AccountApproved = "account_approved";
    public const string AccountRejected = "account_rejected";
    /// <summary>By an admin (actor recorded) or by the sweep (detail <c>by: sweep</c>), with the reason.</summary>
    public const string AccountLocked = "account_locked";
    public const string AccountUnlocked = "account_unlocked";
    public const string RoleChanged = "role_changed";
    /// <summary>An admin changed an account's names (PATCH /api/manage/users/{id}).</summary>
    public const string ProfileChanged = "profile_changed";
    public const string InviteCreated = "invite_created";
    /// <summary>Recorded under the account's pseudonym (the rest of its trail is pseudonymised too).</summary>
    public const string AccountDeleted = "account_deleted";
    /// <summary>A rotated refresh token presented again outside the grace: the session ended.</summary>
    public const string SessionReuseDetected = "session_reuse_detected";
    /// <summary>A person ended one of their sessions (DELETE /api/me/sessions/{id}).</summary>
    public const string SessionRevoked = "session_revoked";
    public const string Logout = "logout";
    /// <summary>A signed-in person asked to move to a new address (also when it is taken: detail <c>taken</c>).</summary>
    public const string EmailChangeRequested = "email_change_requested";
    /// <summary>The revert link in the notice to the old address was used; detail <c>outcome</c>.</summary>
    public const string EmailReverted = "email_reverted";
    public const string MfaEnabled = "mfa_enabled";
    public const string MfaDisabled = "mfa_disabled";
    /// <summary>A provider login was removed from the account (DELETE /api/me/external/{provider}).</summary>
    public const string ExternalUnlinked = "external_unlinked";

    public static readonly IReadOnlyList<string> All =
    [
        Signup, EmailVerified, LoginFailed, LoginSucceeded, LoginThrottled, MagicLinkSent, MagicLinkRedeemed,
        PasswordResetRequested, PasswordReset, PasswordChanged, AccountApproved, AccountRejected, AccountLocked,
        AccountUnlocked, RoleChanged, ProfileChanged, InviteCreated, AccountDeleted, SessionReuseDetected, SessionRevoked, Logout,
        EmailChangeRequested, EmailReverted, MfaEnabled, MfaDisabled, ExternalUnlinked,
    ];
}
