using AccountFunctions.Functions.Tests.Support;
using Microsoft.Playwright;

namespace AccountFunctions.Browser.Tests.Support;

/// <summary>
/// The real app (TestApp: Kestrel, Azurite, fake SendGrid) and one headless Debian Chromium driven
/// by Playwright, per test class. Never downloads a browser: it launches /usr/bin/chromium
/// (scripts/test.sh installs it with apt when missing; CHROMIUM_PATH overrides the path).
/// </summary>
public class BrowserFixture : IAsyncLifetime
{
    public static readonly string ChromiumPath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } p ? p : "/usr/bin/chromium";
    public static readonly string ScreenshotDir = Path.Combine(Repo.Root, "TestResults", "screenshots");

    private IPlaywright _playwright = null!;
    public IBrowser Browser { get; private set; } = null!;
    public TestApp App { get; private set; } = null!;
    protected virtual IDictionary<string, string?>? Settings => null;
    /// <summary>A FakeTimeProvider as the app's clock (App.Clock): TOTP steps the test moves itself.</summary>
    protected virtual bool FakeClock => false;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: run scripts/test.sh (it installs Debian's chromium).");
        App = await TestApp.StartAsync(Settings, FakeClock);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>A fresh browser profile (no cookies, no storage) as a new person would have.</summary>
    public async Task<Person> NewPersonAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = App.BaseUrl,
            ViewportSize = new ViewportSize { Width = 1000, Height = 800 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(15_000);
        return await Person.StartAsync(context);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (App is not null) await App.DisposeAsync();
    }
}

/// <summary>One person's browser: a context with one tab, and what went wrong in it (CSP violations, script errors).</summary>
public sealed class Person : IAsyncDisposable
{
    private readonly List<string> _problems = [];

    private Person(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; private set; }
    public IReadOnlyList<string> Problems => _problems;

    public static async Task<Person> StartAsync(IBrowserContext context)
    {
        var person = new Person(context, await context.NewPageAsync());
        person.Watch(person.Page);
        return person;
    }

    /// <summary>A second tab in the same browser (shares cookies, not sessionStorage).</summary>
    public async Task<IPage> NewTabAsync()
    {
        var page = await Context.NewPageAsync();
        Watch(page);
        return page;
    }

    private void Watch(IPage page)
    {
        page.PageError += (_, error) => _problems.Add("script error: " + error);
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || message.Text.Contains("Refused to", StringComparison.Ordinal))
                _problems.Add("csp: " + message.Text);
        };
    }

    /// <summary>Opens a page and waits until its script has attached its handlers.</summary>
    public async Task OpenAsync(string pathAndQuery, IPage? page = null)
    {
        page ??= Page;
        await page.GotoAsync(pathAndQuery);
        await page.Locator("body[data-ready=true]").WaitForAsync();
    }

    public async Task ScreenshotAsync(string name, IPage? page = null)
    {
        Directory.CreateDirectory(BrowserFixture.ScreenshotDir);
        await (page ?? Page).ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDir, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}
