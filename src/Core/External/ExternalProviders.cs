using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace AccountFunctions.Core.External;

/// <summary>One configured OpenID Connect provider and its cached discovery document and keys.</summary>
public sealed class ExternalProvider(string name, string authority, ExternalProviderOptions options, bool requireHttps,
    ConfigurationManager<OpenIdConnectConfiguration> configuration)
{
    /// <summary>The settings key, lower-cased: what routes, links and index keys use.</summary>
    public string Name { get; } = name;
    public string Authority { get; } = authority;
    public ExternalProviderOptions Options { get; } = options;
    /// <summary>False only for an http authority on a loopback address (development and tests).</summary>
    public bool RequireHttps { get; } = requireHttps;
    public ConfigurationManager<OpenIdConnectConfiguration> Configuration { get; } = configuration;

    public string Scopes
    {
        get
        {
            var scopes = Options.Scopes.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).ToList();
            if (!scopes.Contains("openid")) scopes.Insert(0, "openid");
            return string.Join(' ', scopes.Distinct());
        }
    }

    /// <summary>An endpoint the provider's discovery named may be used: https, or http only where the authority may be.</summary>
    public bool EndpointAllowed(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || (!RequireHttps && uri.Scheme == Uri.UriSchemeHttp));
}

/// <summary>
/// The providers under <c>External__Providers__{name}__…</c>. Discovery documents and signing keys
/// are fetched with ConfigurationManager (cached, refreshed daily, or at once when an id_token names
/// an unknown key).
/// </summary>
public sealed class ExternalProviders
{
    private readonly Dictionary<string, ExternalProvider> _providers = new(StringComparer.OrdinalIgnoreCase);

    public ExternalProviders(ExternalOptions options, HttpClient http)
    {
        Http = http;
        foreach (var (key, p) in options.Providers)
        {
            var name = key.ToLowerInvariant();
            if (name.Length is 0 or > 32 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new InvalidOperationException($"External provider name '{key}' must be 1-32 letters, digits, '-' or '_'.");
            if (string.IsNullOrWhiteSpace(p.Authority) || string.IsNullOrWhiteSpace(p.ClientId))
                throw new InvalidOperationException($"External__Providers__{key} needs an Authority and a ClientId.");
            if (!Uri.TryCreate(p.Authority.Trim(), UriKind.Absolute, out var authority)
                || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp))
                throw new InvalidOperationException($"External__Providers__{key}__Authority must be an absolute https URL.");
            var requireHttps = !(authority.Scheme == Uri.UriSchemeHttp && authority.IsLoopback);
            if (requireHttps && authority.Scheme != Uri.UriSchemeHttps)
                throw new InvalidOperationException($"External__Providers__{key}__Authority must be https (http only on a loopback address).");
            if (p.ClientAuthentication is not ("basic" or "post"))
                throw new InvalidOperationException($"External__Providers__{key}__ClientAuthentication must be 'basic' or 'post'.");
            var issuer = p.Authority.Trim().TrimEnd('/');
            var manager = new ConfigurationManager<OpenIdConnectConfiguration>(issuer + "/.well-known/openid-configuration",
                new OpenIdConnectConfigurationRetriever(), new HttpDocumentRetriever(http) { RequireHttps = requireHttps });
            _providers[name] = new ExternalProvider(name, issuer, p, requireHttps, manager);
        }
    }

    public HttpClient Http { get; }

    public ExternalProvider? Find(string? name) => name is not null && _providers.TryGetValue(name, out var p) ? p : null;
}
