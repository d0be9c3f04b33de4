using Azure;
using Azure.Data.Tables;
using System.Runtime.Serialization;

namespace AccountFunctions.Core;

public static class AccountStatus
{
    public const string Unverified = "unverified";
    public const string PendingApproval = "pending_approval";
    public const string Active = "active";
    public const string Locked = "locked";
    public const string Rejected = "rejected";
}

public static class Roles
{
    public const string User = "user";
    public const string Admin = "admin";
}

/// <summary>
/// An account row: table <c>accounts</c>, PartitionKey = account id, RowKey = "account".
/// Sessions and outbox rows share the partition so they can change in one transaction.
/// </summary>
public sealed class Account : ITableEntity
{
    public const string Row = "account";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    [IgnoreDataMember] public string Id => PartitionKey;

    /// <summary>The address as entered; <see cref="EmailVerified"/> says whether this account owns it.</summary>
    public string? Email { get; set; }
    public bool EmailVerified { get; set; }
    /// <summary>A new address waiting for confirmation (email change).</summary>
    public string? PendingEmail { get; set; }
    public string? AccountNumber { get; set; }
    public string Status { get; set; } = AccountStatus.Unverified;
    public string Role { get; set; } = Roles.User;
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    /// <summary>First and last name joined, for an email's To name; null when neither is set.</summary>
    [IgnoreDataMember]
    public string? FullName =>
        string.Join(' ', new[] { FirstName, LastName }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } n ? n : null;
    /// <summary>The note left for the admin at signup.</summary>
    public string? Comment { get; set; }
    /// <summary>Self-describing hash (see PasswordHasher); null for passwordless accounts.</summary>
    public string? PasswordHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    /// <summary>
    /// Written without an ETag by sign-ins (a merge of this property alone, at most about once a
    /// minute per account: SessionService.LastLogin), so parallel sign-ins never conflict over it.
    /// </summary>
    public DateTimeOffset? LastLoginAt { get; set; }
    /// <summary>
    /// Bumped (with the ETag) by every change that ends all sessions: lock, password reset or
    /// change, email revert. A session made under an older epoch is dead at once, even one that a
    /// racing sign-in committed after the sessions were ended (sign-ins do not write this row).
    /// </summary>
    public int SessionEpoch { get; set; }
    /// <summary>When an unconfirmed email locks the account (signup or email change).</summary>
    public DateTimeOffset? ConfirmationDeadline { get; set; }
    /// <summary>Id of the verification link/code pair in force; older ones are superseded.</summary>
    public string? VerificationGrant { get; set; }
    /// <summary>Id of the sign-in link/code pair in force (magic link); a newer request supersedes it.</summary>
    public string? MagicGrant { get; set; }
    /// <summary>Id of the password-reset link in force; a newer forgot request supersedes it.</summary>
    public string? ResetGrant { get; set; }
    public bool MfaEnabled { get; set; }
    /// <summary>The TOTP secret in force, AES-GCM encrypted under a key derived from the token key (Mfa/TotpCodes); null when MFA is off.</summary>
    public string? TotpSecret { get; set; }
    /// <summary>A secret handed out by setup and not confirmed yet (encrypted the same way); a new setup replaces it.</summary>
    public string? TotpPendingSecret { get; set; }
    /// <summary>The last TOTP time step accepted: a code of this step or an earlier one is refused (replay).</summary>
    public long? TotpLastStep { get; set; }
    /// <summary>Id of the recovery codes in force; rows of another set are dead.</summary>
    public string? RecoveryCodeSet { get; set; }
    public string? AvatarUrl { get; set; }
    public string? Bio { get; set; }
    public string? Location { get; set; }
    public string? PreferencesJson { get; set; }
    /// <summary>Linked OpenID Connect logins, JSON of External.ExternalLogin[] (see External/ExternalLinks.cs).</summary>
    public string? ExternalLoginsJson { get; set; }
    public string? LockReason { get; set; }
    /// <summary>The status an admin's lock interrupted; unlocking restores it.</summary>
    public string? StatusBeforeLock { get; set; }
    /// <summary>Email change of a passwordless account: the grant of the code sent to the current address.</summary>
    public string? EmailChangeGrant { get; set; }
    /// <summary>Hash of the new address that code authorises (the code is good for that address only).</summary>
    public string? EmailChangeTarget { get; set; }
    /// <summary>Bumped by every revert: revert links issued before it are dead (see EmailChangeService).</summary>
    public int RevertEpoch { get; set; }

    // Stored copies for the Manage API's prefix search (Table filters compare case-sensitively).
    // Derived on every write; the setters exist only so the table client stores them.
    public string? EmailSearch { get => Email is null ? null : EmailAddress.Normalize(Email); set { } }
    public string? FirstNameSearch { get => FirstName?.Trim().ToLowerInvariant(); set { } }
    public string? LastNameSearch { get => LastName?.Trim().ToLowerInvariant(); set { } }

    public static Account New(string id, DateTimeOffset now) =>
        new() { PartitionKey = id, CreatedAt = now, UpdatedAt = now };

    public static string NewId() => Guid.CreateVersion7().ToString("N");

    /// <summary>Why this account may not sign in, as its status tells; null when it is active.</summary>
    public Error? StatusError() => Status switch
    {
        AccountStatus.Active => null,
        AccountStatus.Unverified => Errors.EmailNotVerified,
        AccountStatus.PendingApproval => Errors.ApprovalPending,
        AccountStatus.Rejected => Errors.AccountRejected,
        _ => Errors.AccountLocked,
    };
}
