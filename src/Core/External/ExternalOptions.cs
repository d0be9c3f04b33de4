namespace AccountFunctions.Core.External;

/// <summary>Settings <c>External__Providers__{name}__…</c>: one OpenID Connect provider per name.</summary>
public sealed class ExternalOptions
{
    public Dictionary<string, ExternalProviderOptions> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long a started sign-in may take at the provider (state row and cookie life).</summary>
    public TimeSpan FlowLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Life of the one-time code handed to the returnUrl, exchanged for a session.</summary>
    public TimeSpan ExchangeCodeLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Sign-ins started per client IP per <see cref="StartLimitWindow"/> (each writes a short-lived row).</summary>
    public int StartLimitPerIp { get; set; } = 60;
    public TimeSpan StartLimitWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Accepted difference between the provider's clock and ours for id_token expiry.</summary>
    [ZeroAllowed] public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(2);
}

public sealed class ExternalProviderOptions
{
    /// <summary>The issuer URL; discovery is read from <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
    /// <summary>Space- or comma-separated; <c>openid</c> is always sent.</summary>
    public string Scopes { get; set; } = "openid email profile";
    /// <summary><c>basic</c> (client_secret_basic, the default) or <c>post</c> (client_secret_post).</summary>
    [OneOf("basic", "post", IgnoreCase = false)] public string ClientAuthentication { get; set; } = "basic";
}
