using System.Collections.Frozen;
using System.Security.Cryptography;
using AccountFunctions.Core;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Pages;

/// <summary>
/// The pages under /account/: static HTML, CSS and JS from Pages/ (copied to the output), served
/// from memory. Only files that exist there at start-up can be named, so no request path ever
/// reaches the file system. Every answer carries a strict CSP, no referrer, and nosniff.
/// </summary>
public sealed class PageFunctions
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private sealed record PageFile(byte[] Bytes, string ContentType, string ETag, bool IsPage);

    private static readonly Lazy<FrozenDictionary<string, PageFile>> Files = new(() => Load(Path.Combine(AppContext.BaseDirectory, "Pages")));

    // Sets its own Cache-Control per file (below); the default covers the redirect and the 404.
    [Function("Pages"), Cacheable("no-cache")]
    public Results<RedirectHttpResult, ProblemResult, StatusCodeHttpResult, FileContentHttpResult> Serve([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "account/{*rest}")] HttpRequest req)
    {
        var http = req.HttpContext;
        var rest = req.RouteValues["rest"] as string;
        SecurityHeaders(http.Response);
        if (string.IsNullOrEmpty(rest)) return TypedResults.Redirect("/account/login");
        if (!Files.Value.TryGetValue(rest, out var file)) return Errors.NotFound.ToProblem();
        // Pages may hold a token in their URL: never stored. Assets revalidate by ETag.
        http.Response.Headers.CacheControl = file.IsPage ? "no-store" : "no-cache";
        http.Response.Headers.ETag = file.ETag;
        if (!file.IsPage && http.Request.Headers.IfNoneMatch == file.ETag) return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        return TypedResults.Bytes(file.Bytes, file.ContentType);
    }

    private static void SecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
    }

    /// <summary>
    /// <c>verify.html</c> is served as <c>verify</c> (the address emails link to); anything under
    /// <c>assets/</c> by its path.
    /// </summary>
    private static FrozenDictionary<string, PageFile> Load(string root)
    {
        var files = new Dictionary<string, PageFile>(StringComparer.Ordinal);
        if (!Directory.Exists(root)) return files.ToFrozenDictionary();
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            var type = Path.GetExtension(path) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".png" => "image/png",
                ".svg" => "image/svg+xml",
                ".txt" => "text/plain; charset=utf-8",
                _ => null,
            };
            if (type is null) continue; // anything unknown is not served
            var bytes = File.ReadAllBytes(path);
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"";
            if (relative.EndsWith(".html", StringComparison.Ordinal) && !relative.Contains('/'))
                files[relative[..^".html".Length]] = new PageFile(bytes, type, etag, true);
            else if (relative.StartsWith("assets/", StringComparison.Ordinal))
                files[relative] = new PageFile(bytes, type, etag, false);
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
