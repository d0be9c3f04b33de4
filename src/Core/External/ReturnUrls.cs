namespace AccountFunctions.Core.External;

/// <summary>
/// Where a browser may be sent back after an external sign-in (<c>Accounts__AllowedReturnUrls</c>,
/// comma-separated; default <c>Accounts__PublicBaseUrl</c>). A returnUrl must be an absolute http(s)
/// URL without user info or fragment whose scheme, host and port equal an entry's, and whose path
/// equals the entry's path, or lies beneath it when the entry's path ends with <c>/</c> (a bare
/// origin such as <c>https://app.example</c> counts as path <c>/</c>, so it allows the whole origin).
/// The URL is compared after .NET's normalisation (dot segments removed, backslashes turned into
/// slashes, host lower-cased) and it is this normalised form that is redirected to, so what was
/// checked is what is used. Paths holding encoded slashes, backslashes or dots are refused. Query
/// strings are kept and not compared.
/// </summary>
public static class ReturnUrls
{
    public const int MaxLength = 2048;
    private static readonly string[] EncodedSeparators = ["%2f", "%5c", "%2e"];

    /// <summary>The normalised URL when it is allowed, else null.</summary>
    public static string? Match(string? returnUrl, AccountsOptions options)
    {
        if (Parse(returnUrl) is not { } candidate) return null;
        var entries = options.AllowedReturnUrls is { Length: > 0 } list ? list : options.PublicBaseUrl;
        foreach (var raw in entries.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Parse(raw) is not { } allowed) continue;
            if (!string.Equals(candidate.Scheme, allowed.Scheme, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(candidate.IdnHost, allowed.IdnHost, StringComparison.OrdinalIgnoreCase)
                || candidate.Port != allowed.Port)
                continue;
            var path = candidate.AbsolutePath;
            var allowedPath = allowed.AbsolutePath;
            if (path == allowedPath || (allowedPath.EndsWith('/') && path.StartsWith(allowedPath, StringComparison.Ordinal)))
                return candidate.AbsoluteUri;
        }
        return null;
    }

    private static Uri? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > MaxLength) return null;
        if (value.Any(char.IsControl)) return null;
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri)) return null;
        if (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) return null;
        if (!string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Fragment) || value.Contains('#')) return null;
        // Encoded slashes, backslashes and dots could climb out of a prefix once the page's server decodes them.
        if (EncodedSeparators.Any(e => uri.AbsolutePath.Contains(e, StringComparison.OrdinalIgnoreCase))) return null;
        return string.IsNullOrEmpty(uri.Host) ? null : uri;
    }
}
