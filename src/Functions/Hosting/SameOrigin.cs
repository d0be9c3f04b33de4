using AccountFunctions.Core;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// Whether a request that carries an ambient credential (a cookie the browser adds by itself) was
/// made by this app's own pages. A SameSite=Strict cookie still goes with a request from a sibling
/// subdomain (same site, another origin), so SameSite alone does not say.
/// <list type="bullet">
/// <item><c>Sec-Fetch-Site</c> (Fetch Metadata: the browser's own comparison of the page that made
/// the request with its target; no page can set it) decides when it is there: only
/// <c>same-origin</c> passes; <c>same-site</c>, <c>cross-site</c> and <c>none</c> do not.</item>
/// <item>Without it (a browser without Fetch Metadata), <c>Origin</c> must be the origin of
/// <c>Accounts__PublicBaseUrl</c>: an origin that differs, <c>null</c> (an opaque origin) or no
/// <c>Origin</c> at all is refused.</item>
/// </list>
/// The origin is never taken from the request's Host header.
/// </summary>
public sealed class SameOrigin(AccountsOptions accounts)
{
    private readonly string _publicOrigin = OriginOf(new Uri(accounts.PublicBaseUrl));

    public bool Allows(HttpRequest request)
    {
        var headers = request.Headers;
        var site = headers["Sec-Fetch-Site"];
        if (site.Count > 0) return site.Count == 1 && string.Equals(site[0]?.Trim(), "same-origin", StringComparison.Ordinal);
        var origin = headers.Origin;
        return origin.Count == 1 && string.Equals(origin[0]?.Trim(), _publicOrigin, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The ASCII serialisation a browser sends: scheme://host[:port], the default port left out.</summary>
    public static string OriginOf(Uri url) =>
        $"{url.Scheme}://{url.IdnHost}{(url.IsDefaultPort ? "" : ":" + url.Port)}".ToLowerInvariant();
}
