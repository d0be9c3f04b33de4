using System.Diagnostics.Metrics;
using AccountFunctions.Core.Audit;

namespace AccountFunctions.Core.Operations;

/// <summary>
/// Counters on the Meter "AccountFunctions", created through the app's IMeterFactory (so a test
/// listens to its own app only). Signups, sign-ins and sweep locks are counted where the audit
/// event is recorded (one place for every flow); email outcomes by the sender and SendEmail.
/// </summary>
public sealed class AccountMetrics
{
    public const string MeterName = "AccountFunctions";

    private readonly Counter<long> _signups, _logins, _emails, _sweepLocks, _smtpOAuth;

    public AccountMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _signups = meter.CreateCounter<long>("accounts.signups", "{account}", "Accounts created (password, email, account number, external).");
        _logins = meter.CreateCounter<long>("accounts.logins", "{login}", "Sign-ins; tags outcome=ok|failed, method=password|email|mfa|external.");
        _emails = meter.CreateCounter<long>("accounts.emails", "{email}", "Email deliveries; tag outcome=sent|failed|poisoned.");
        _sweepLocks = meter.CreateCounter<long>("accounts.sweep_locks", "{account}", "Accounts the sweep locked (email not confirmed in time).");
        _smtpOAuth = meter.CreateCounter<long>("accounts.smtp_oauth", "{event}",
            "SMTP XOAUTH2 token events; tag event=refreshed|refresh_refused|refresh_failed|token_rejected.");
    }

    public void Audited(string type, IReadOnlyDictionary<string, string?>? detail)
    {
        switch (type)
        {
            case AuditEvent.Signup: _signups.Add(1); break;
            case AuditEvent.LoginSucceeded: _logins.Add(1, Tag("outcome", "ok"), Tag("method", Method(detail))); break;
            case AuditEvent.MagicLinkRedeemed: _logins.Add(1, Tag("outcome", "ok"), Tag("method", "email")); break;
            case AuditEvent.LoginFailed: _logins.Add(1, Tag("outcome", "failed"), Tag("method", Method(detail))); break;
            case AuditEvent.AccountLocked when detail?.GetValueOrDefault("by") == "sweep": _sweepLocks.Add(1); break;
        }
    }

    /// <summary>How a sign-in was made, from its audit detail: a second factor, an external provider, or a password.</summary>
    private static string Method(IReadOnlyDictionary<string, string?>? detail) =>
        detail?.GetValueOrDefault("factor") is not null || detail?.GetValueOrDefault("reason") == Errors.InvalidCode.Code ? "mfa"
        : detail?.GetValueOrDefault("method") ?? "password";

    public void EmailSent() => _emails.Add(1, Tag("outcome", "sent"));
    public void EmailFailed() => _emails.Add(1, Tag("outcome", "failed"));
    public void EmailPoisoned() => _emails.Add(1, Tag("outcome", "poisoned"));
    /// <summary>refresh_refused: the provider revoked the refresh token; no email goes out until it is replaced.</summary>
    public void SmtpOAuth(string @event) => _smtpOAuth.Add(1, Tag("event", @event));

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
