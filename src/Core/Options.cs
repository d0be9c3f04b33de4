using System.ComponentModel.DataAnnotations;

namespace AccountFunctions.Core;

public sealed class AccountsOptions
{
    [Required, AbsoluteUrl] public string PublicBaseUrl { get; set; } = "http://localhost:7071";
    public bool RequireAdminApproval { get; set; }
    public bool InviteOnly { get; set; }
    public string BootstrapAdmins { get; set; } = "";
    public TimeSpan VerificationTokenLifetime { get; set; } = TimeSpan.FromDays(1);
    public TimeSpan EmailConfirmationDeadline { get; set; } = TimeSpan.FromDays(3);
    public TimeSpan PasswordResetTokenLifetime { get; set; } = TimeSpan.FromMinutes(30);
    public TimeSpan MagicLinkLifetime { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan InviteLifetime { get; set; } = TimeSpan.FromDays(7);
    /// <summary>Life of the revert link an email change sends to the old address.</summary>
    public TimeSpan EmailRevertLinkLifetime { get; set; } = TimeSpan.FromDays(7);
    [AbsoluteUrl(List = true)] public string AllowedReturnUrls { get; set; } = "";

    public string BaseUrl => PublicBaseUrl.TrimEnd('/');

    public bool IsBootstrapAdmin(string normalizedEmail) =>
        BootstrapAdmins.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(e => EmailAddress.Normalize(e) == normalizedEmail);
}

public sealed class JwtOptions
{
    public string? Issuer { get; set; }
    public string? Audience { get; set; }
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);
    public string? SigningKey { get; set; }
    /// <summary>The key before the last rotation: published in the JWKS and accepted, never used to sign.</summary>
    public string? PreviousSigningKey { get; set; }
    /// <summary>Accepted difference between clocks when checking an access token's <c>exp</c> and <c>nbf</c>.</summary>
    [ZeroAllowed] public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class SessionsOptions
{
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(1);
    public TimeSpan RememberMeLifetime { get; set; } = TimeSpan.FromDays(30);
    [ZeroAllowed] public TimeSpan ReuseGrace { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class SecurityOptions
{
    /// <summary>Base64 of 32 random bytes; HMAC key for derived link tokens, codes and refresh tokens.</summary>
    public string? TokenKey { get; set; }
    /// <summary>Argon2id parameters (OWASP: m=19 MiB, t=2, p=1 as the floor).</summary>
    [Range(8, 4 * 1024 * 1024)] public int HashMemoryKiB { get; set; } = 19 * 1024;
    public int HashIterations { get; set; } = 2;
    /// <summary>Resends allowed per address per window.</summary>
    public int ResendLimit { get; set; } = 3;
    public TimeSpan ResendWindow { get; set; } = TimeSpan.FromMinutes(15);
    /// <summary>
    /// Wrong 6-digit codes allowed per address per window, across every code sent to it (sign-in,
    /// verification, email change): resends and repeated signups do not multiply the guesses.
    /// Reserved before each check, given back by a right code (docs/security.md says why 10 a day).
    /// </summary>
    [Range(1, 1_000_000)] public int CodeTriesPerAddress { get; set; } = 10;
    public TimeSpan CodeTriesWindow { get; set; } = TimeSpan.FromDays(1);
    /// <summary>
    /// The least time signup, resend, forgot and sign-in by email take to answer, so an address
    /// with an account and one without answer after the same time (0 turns it off).
    /// </summary>
    [ZeroAllowed] public TimeSpan EnumerationFloor { get; set; } = TimeSpan.FromMilliseconds(150);
}

/// <summary>
/// Login throttling per identifier (whether or not an account exists). Bound from the section
/// <c>Lockout</c>, its name before the rename, so deployed settings keep working.
/// </summary>
public sealed class LoginThrottleOptions
{
    public int MaxFailedAttempts { get; set; } = 10;
    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(15);
    /// <summary>Cap of the growing back-off: each block within a day of the last doubles, up to this.</summary>
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromHours(24);
    /// <summary>How long a block is remembered: the next block within this doubles.</summary>
    public TimeSpan StrikeMemory { get; set; } = TimeSpan.FromDays(1);
}

public sealed class StorageOptions
{
    /// <summary>Prefix for every table name (tests isolate with it; empty in production).</summary>
    public string Prefix { get; set; } = "";

    /// <summary>
    /// The app setting naming the email queue, read by the app and resolved by the Functions host for
    /// the SendEmail queue trigger (<c>%EmailOutboxQueue%</c>), so both always name the same queue.
    /// </summary>
    public const string OutboxQueueSetting = "EmailOutboxQueue";

    /// <summary>The email queue (from <see cref="OutboxQueueSetting"/>); its poison queue adds <c>-poison</c>.</summary>
    public string OutboxQueue { get; set; } = "email-outbox";
}

public sealed class EmailOptions
{
    [OneOf("Smtp", "SendGrid")] public string Transport { get; set; } = "Smtp";
    public string From { get; set; } = "no-reply@localhost";
    public string FromName { get; set; } = "Account Functions";
    /// <summary>How long an email may stay unsent before the sweep enqueues it again.</summary>
    public TimeSpan OutboxReplayAfter { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>An email older than this is dropped instead of sent: whatever link it carries has expired.</summary>
    public TimeSpan MaxMessageAge { get; set; } = TimeSpan.FromDays(7);
    public SendGridOptions SendGrid { get; set; } = new();
    public SmtpOptions Smtp { get; set; } = new();
}

public sealed class SendGridOptions
{
    public string? ApiKey { get; set; }
    [AbsoluteUrl] public string? Host { get; set; }
}

/// <summary>
/// <c>Email__Smtp__…</c> as given. Host, port, security, token endpoint and scope stay null when
/// not set, so a <see cref="Preset"/> can fill them; <see cref="Email.SmtpSettings.Resolve"/> turns
/// this into what the transport uses.
/// </summary>
public sealed class SmtpOptions
{
    /// <summary><c>Gmail</c> or <c>Microsoft365</c>: host, port, security, token endpoint and scope.</summary>
    public string? Preset { get; set; }
    public string? Host { get; set; }
    [Range(1, 65535)] public int? Port { get; set; }
    /// <summary><c>None</c>, <c>StartTls</c> or <c>SslOnConnect</c>.</summary>
    public string? Security { get; set; }
    /// <summary><c>None</c>, <c>Password</c> or <c>OAuth2</c>; unset: <c>Password</c> when a username is given, else <c>None</c>.</summary>
    public string? Auth { get; set; }
    /// <summary>The login; with OAuth2, the mailbox the token was granted for.</summary>
    public string? Username { get; set; }
    public string? Password { get; set; }
    public SmtpOAuthOptions OAuth { get; set; } = new();
}

/// <summary><c>Email__Smtp__OAuth__…</c>: a refresh token the app trades for access tokens.</summary>
public sealed class SmtpOAuthOptions
{
    public string? TokenEndpoint { get; set; }
    /// <summary>The Entra ID tenant (id or domain) for the Microsoft365 preset's token endpoint.</summary>
    public string? Tenant { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
    public string? RefreshToken { get; set; }
    /// <summary>Sent with each refresh (the preset's when unset; none without a preset).</summary>
    public string? Scope { get; set; }
}

/// <summary>One per-client limit: at most <see cref="PermitLimit"/> requests per fixed <see cref="Window"/>.</summary>
public sealed class LimitRule
{
    public int PermitLimit { get; set; }
    public TimeSpan Window { get; set; }
    public LimitRule() { }
    public LimitRule(int permitLimit, TimeSpan window) { PermitLimit = permitLimit; Window = window; }
}

/// <summary>
/// Limits per client IP and endpoint group (<c>RateLimits__Login__PermitLimit</c>, <c>__Window</c>).
/// Counters live in the <c>limits</c> table; each instance adds its hits to them every
/// <see cref="SyncEvery"/> hits or <see cref="SyncInterval"/>, whichever comes first.
/// </summary>
public sealed class ClientLimitOptions
{
    public LimitRule Signup { get; set; } = new(20, TimeSpan.FromMinutes(15));
    public LimitRule Login { get; set; } = new(100, TimeSpan.FromMinutes(15));
    public LimitRule MagicLink { get; set; } = new(20, TimeSpan.FromMinutes(15));
    public LimitRule Forgot { get; set; } = new(20, TimeSpan.FromMinutes(15));
    public LimitRule Resend { get; set; } = new(20, TimeSpan.FromMinutes(15));
    /// <summary>Entering a code or redeeming a link: verify, magic redeem, reset, MFA, revert, exchange.</summary>
    public LimitRule CodeEntry { get; set; } = new(50, TimeSpan.FromMinutes(15));
    /// <summary>Local hits an instance may count before adding them to the shared counter (1 = every hit).</summary>
    public int SyncEvery { get; set; } = 10;
    [ZeroAllowed] public TimeSpan SyncInterval { get; set; } = TimeSpan.FromSeconds(2);

    public LimitRule For(Security.ClientLimitGroup group) => group switch
    {
        Security.ClientLimitGroup.Signup => Signup,
        Security.ClientLimitGroup.Login => Login,
        Security.ClientLimitGroup.MagicLink => MagicLink,
        Security.ClientLimitGroup.Forgot => Forgot,
        Security.ClientLimitGroup.Resend => Resend,
        Security.ClientLimitGroup.CodeEntry => CodeEntry,
        _ => throw new ArgumentOutOfRangeException(nameof(group), group, "No such client-limit group."),
    };
}
