using System.Net;
using System.Text.RegularExpressions;
using MailKit.Security;

namespace AccountFunctions.Core.Email;

public enum SmtpAuth { None, Password, OAuth2 }

/// <summary>
/// What the SMTP transport uses: <c>Email__Smtp__…</c> with a preset's values wherever the explicit
/// setting is absent, checked once at start. A misconfiguration names the setting, never its value.
/// A class, not a record: a record's ToString would print the password and the tokens.
/// </summary>
public sealed partial class SmtpSettings
{
    public required string Host { get; init; }
    public required int Port { get; init; }
    public required SecureSocketOptions Security { get; init; }
    public required SmtpAuth Auth { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }
    public SmtpOAuthSettings? OAuth { get; init; }

    public const string GmailPreset = "Gmail";
    public const string Microsoft365Preset = "Microsoft365";

    private sealed record Preset(string Host, int Port, SecureSocketOptions Security, string TokenEndpoint, string Scope);

    // Gmail: implicit TLS on 465. Microsoft 365: STARTTLS on 587 (the only port it offers for
    // client submission), the tenant's v2.0 endpoint, and offline_access so a refresh returns
    // a refresh token again.
    private static readonly Preset Gmail = new("smtp.gmail.com", 465, SecureSocketOptions.SslOnConnect,
        "https://oauth2.googleapis.com/token", "https://mail.google.com/");
    private static readonly Preset Microsoft365 = new("smtp.office365.com", 587, SecureSocketOptions.StartTls,
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token", "https://outlook.office.com/SMTP.Send offline_access");

    public static SmtpSettings Resolve(SmtpOptions o)
    {
        var preset = o.Preset switch
        {
            null or "" => null,
            _ when o.Preset.Equals(GmailPreset, StringComparison.OrdinalIgnoreCase) => Gmail,
            _ when o.Preset.Equals(Microsoft365Preset, StringComparison.OrdinalIgnoreCase) => Microsoft365,
            _ => throw new InvalidOperationException($"Email__Smtp__Preset must be '{GmailPreset}' or '{Microsoft365Preset}'."),
        };

        var host = Given(o.Host) ?? preset?.Host ?? "localhost";
        var port = o.Port ?? preset?.Port ?? 1025;
        if (port is < 1 or > 65535) throw new InvalidOperationException("Email__Smtp__Port must be 1-65535.");
        SecureSocketOptions security;
        if (Given(o.Security) is { } s)
        {
            if (!Enum.TryParse(s, ignoreCase: true, out security) || !Enum.IsDefined(security))
                throw new InvalidOperationException("Email__Smtp__Security must be None, StartTls or SslOnConnect.");
        }
        else security = preset?.Security ?? SecureSocketOptions.None;

        var refreshToken = Given(o.OAuth.RefreshToken);
        SmtpAuth auth;
        if (Given(o.Auth) is { } a)
        {
            if (!Enum.TryParse(a, ignoreCase: true, out auth) || !Enum.IsDefined(auth))
                throw new InvalidOperationException("Email__Smtp__Auth must be None, Password or OAuth2.");
        }
        else if (refreshToken is not null && Given(o.Password) is not null)
            throw new InvalidOperationException("Email__Smtp__Password and Email__Smtp__OAuth__RefreshToken are both set: choose with Email__Smtp__Auth (Password or OAuth2).");
        // Unset: what the app did before Auth existed (a username means a password login),
        // or OAuth2 when only a refresh token is given.
        else auth = refreshToken is not null ? SmtpAuth.OAuth2 : Given(o.Username) is not null ? SmtpAuth.Password : SmtpAuth.None;

        var username = Given(o.Username);
        if (auth != SmtpAuth.None && username is null)
            throw new InvalidOperationException($"Email__Smtp__Auth={auth} needs Email__Smtp__Username ({(auth == SmtpAuth.OAuth2 ? "the mailbox" : "the login")}).");

        SmtpOAuthSettings? oauth = null;
        if (auth == SmtpAuth.OAuth2)
        {
            // A bearer token is as good as a password for the mailbox: never over a plain connection,
            // except to this machine (development and tests).
            if (security == SecureSocketOptions.None && !IsLoopback(host))
                throw new InvalidOperationException("Email__Smtp__Auth=OAuth2 needs Email__Smtp__Security StartTls or SslOnConnect (None only for a loopback host).");
            var endpointText = Given(o.OAuth.TokenEndpoint);
            if (endpointText is null && preset is not null)
            {
                endpointText = preset.TokenEndpoint;
                if (endpointText.Contains("{tenant}"))
                {
                    var tenant = Given(o.OAuth.Tenant)
                        ?? throw new InvalidOperationException("Email__Smtp__Preset=Microsoft365 needs Email__Smtp__OAuth__Tenant (the directory id or a verified domain), or Email__Smtp__OAuth__TokenEndpoint.");
                    if (!TenantPattern().IsMatch(tenant))
                        throw new InvalidOperationException("Email__Smtp__OAuth__Tenant must be a directory id or domain (letters, digits, '.', '-').");
                    endpointText = endpointText.Replace("{tenant}", tenant);
                }
            }
            if (endpointText is null)
                throw new InvalidOperationException("Email__Smtp__Auth=OAuth2 needs Email__Smtp__OAuth__TokenEndpoint (or Email__Smtp__Preset).");
            if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint)
                || !(endpoint.Scheme == Uri.UriSchemeHttps || (endpoint.Scheme == Uri.UriSchemeHttp && endpoint.IsLoopback)))
                throw new InvalidOperationException("Email__Smtp__OAuth__TokenEndpoint must be an absolute https URL (http only on a loopback address).");
            oauth = new SmtpOAuthSettings
            {
                TokenEndpoint = endpoint,
                ClientId = Given(o.OAuth.ClientId) ?? throw new InvalidOperationException("Email__Smtp__Auth=OAuth2 needs Email__Smtp__OAuth__ClientId."),
                ClientSecret = Given(o.OAuth.ClientSecret),
                RefreshToken = refreshToken ?? throw new InvalidOperationException("Email__Smtp__Auth=OAuth2 needs Email__Smtp__OAuth__RefreshToken."),
                Scope = Given(o.OAuth.Scope) ?? preset?.Scope,
            };
        }

        return new SmtpSettings
        {
            Host = host, Port = port, Security = security, Auth = auth, Username = username,
            Password = auth == SmtpAuth.Password ? o.Password ?? "" : null, OAuth = oauth,
        };
    }

    private static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    [GeneratedRegex("^[A-Za-z0-9.-]{1,256}$")]
    private static partial Regex TenantPattern();
}

/// <summary>The refresh-token grant's parameters. A class, not a record, for the same reason.</summary>
public sealed class SmtpOAuthSettings
{
    public required Uri TokenEndpoint { get; init; }
    public required string ClientId { get; init; }
    public string? ClientSecret { get; init; }
    public required string RefreshToken { get; init; }
    /// <summary>Null: no scope parameter is sent.</summary>
    public string? Scope { get; init; }
}
