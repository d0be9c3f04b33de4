using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace AccountFunctions.Functions.Tests.Support;

/// <summary>
/// One real OpenID Connect provider (oidc-provider, tests/oidc/provider.mjs) for the whole test run,
/// on a free port, stopped when the run ends. Its clients redirect to the app's callbacks under the
/// test apps' PublicBaseUrl; <see cref="Browser"/> carries those redirects to the real app.
/// </summary>
public sealed class OidcProvider
{
    public const string Secret = "test-client-secret-not-for-production";
    public const string AppBaseUrl = "https://accounts.example.test";
    private static readonly Lazy<Task<OidcProvider>> Instance = new(StartAsync);

    private OidcProvider(int port) => Url = $"http://127.0.0.1:{port}";

    public string Url { get; }

    public static Task<OidcProvider> GetAsync() => Instance.Value;

    /// <summary>Settings for the app's providers "test" (client_secret_basic) and "testpost" (client_secret_post).</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["External__Providers__test__Authority"] = Url,
        ["External__Providers__test__ClientId"] = "account-functions",
        ["External__Providers__test__ClientSecret"] = Secret,
        ["External__Providers__testpost__Authority"] = Url,
        ["External__Providers__testpost__ClientId"] = "account-functions-post",
        ["External__Providers__testpost__ClientSecret"] = Secret,
        ["External__Providers__testpost__ClientAuthentication"] = "post",
    };

    private static async Task<OidcProvider> StartAsync()
    {
        var port = Repo.FreePort();
        var info = new ProcessStartInfo("node", $"tests/oidc/provider.mjs {port} {AppBaseUrl}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Repo.Root,
        };
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Repo.Kill(process);
        await Repo.WaitForPortAsync(port, process, "oidc-provider");
        return new OidcProvider(port);
    }
}

/// <summary>
/// A browser without a browser: follows the redirect dance by hand over HTTP. Keeps the provider's
/// cookies in a jar, and the app's binding cookie itself (it is Secure, and the test app is on http).
/// </summary>
public sealed class Browser : IDisposable
{
    private readonly HttpClient _provider = new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
    private readonly HttpClient _appClient;

    public Browser(TestApp app)
    {
        _appClient = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(app.BaseUrl) };
    }

    /// <summary>The value of the app's <c>__Host-external</c> cookie, once set.</summary>
    public string? BindingCookie { get; set; }

    /// <summary>GET /api/login/external/{provider}?returnUrl=…; keeps the binding cookie it sets.</summary>
    public async Task<HttpResponseMessage> StartAsync(string provider, string returnUrl)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/login/external/{provider}?returnUrl={Uri.EscapeDataString(returnUrl)}");
        if (BindingCookie is not null) request.Headers.Add("Cookie", $"__Host-external={BindingCookie}");
        var response = await _appClient.SendAsync(request);
        foreach (var header in response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [])
            if (Regex.Match(header, "^__Host-external=([^;]+)") is { Success: true } m) BindingCookie = m.Groups[1].Value;
        return response;
    }

    /// <summary>
    /// Follows the provider's redirects from the authorization URL until they leave the provider,
    /// signing in as <paramref name="login"/> (query of the first interaction, see provider.mjs).
    /// Returns where the provider sends the browser back: the app's callback URL.
    /// </summary>
    public async Task<Uri> AtProviderAsync(Uri authorize, string login)
    {
        var url = authorize;
        var loggedIn = false;
        for (var hop = 0; hop < 12; hop++)
        {
            if (!loggedIn && url.AbsolutePath.StartsWith("/interaction/"))
            {
                url = new Uri(url + (url.Query.Length > 0 ? "&" : "?") + login);
                loggedIn = true;
            }
            using var response = await _provider.GetAsync(url);
            if ((int)response.StatusCode is < 300 or > 399)
                throw new InvalidOperationException($"Provider answered {(int)response.StatusCode} at {url}: {await response.Content.ReadAsStringAsync()}");
            url = new Uri(url, response.Headers.Location!);
            if (!url.AbsoluteUri.StartsWith(authorize.GetLeftPart(UriPartial.Authority))) return url;
        }
        throw new InvalidOperationException("Too many redirects at the provider.");
    }

    /// <summary>Opens the provider's redirect back on the real app (the callback URL names PublicBaseUrl).</summary>
    public async Task<HttpResponseMessage> CallbackAsync(Uri callback, bool withCookie = true)
    {
        Assert.StartsWith(OidcProvider.AppBaseUrl + "/", callback.AbsoluteUri);
        using var request = new HttpRequestMessage(HttpMethod.Get, callback.PathAndQuery);
        if (withCookie && BindingCookie is not null) request.Headers.Add("Cookie", $"__Host-external={BindingCookie}");
        return await _appClient.SendAsync(request);
    }

    public void Dispose()
    {
        _provider.Dispose();
        _appClient.Dispose();
    }
}
