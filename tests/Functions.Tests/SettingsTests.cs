using System.Text.Json;
using System.Text.RegularExpressions;
using AccountFunctions.Functions.Hosting;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// The options the app binds: checked when the worker starts (a bad value stops it, naming the
/// setting), and documented, each one, in the README's Configuration table and the sample settings.
/// </summary>
public sealed partial class SettingsTests
{
    // Read from the top-level app setting the Functions host also reads, not from its section.
    private static readonly Dictionary<string, string> ReadFrom = new() { ["Storage__OutboxQueue"] = "EmailOutboxQueue" };

    private static IHost Build(IEnumerable<KeyValuePair<string, string?>> settings) => AccountFunctionsApp.Build([], b =>
    {
        b.Configuration.AddInMemoryCollection(settings.Select(p => KeyValuePair.Create(p.Key.Replace("__", ":"), p.Value)));
        // What a Functions host passes a worker it starts: without them the worker's own start fails first.
        b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Functions:Worker:HostEndpoint"] = "http://127.0.0.1:9",
            ["Functions:Worker:WorkerId"] = Guid.NewGuid().ToString(),
            ["Functions:Worker:RequestId"] = Guid.NewGuid().ToString(),
        });
    });

    [Theory]
    [InlineData("Jwt__AccessTokenLifetime", "-00:05:00")]
    [InlineData("Accounts__EmailRevertLinkLifetime", "00:00:00")]
    [InlineData("Sessions__RefreshTokenLifetime", "one day")]
    [InlineData("Lockout__MaxFailedAttempts", "0")]
    [InlineData("Lockout__Duration", "15 minutes")]
    [InlineData("RateLimits__Login__PermitLimit", "-3")]
    [InlineData("Security__HashIterations", "many")]
    [InlineData("Email__OutboxReplayAfter", "-1")]
    [InlineData("Accounts__PublicBaseUrl", "accounts.example.test")]
    [InlineData("Accounts__AllowedReturnUrls", "https://app.example.test/, app.example.test/area/")]
    [InlineData("Email__Transport", "Pigeon")]
    [InlineData("Email__Smtp__Security", "Tls13")]
    [InlineData("External__ClockSkew", "-00:01:00")]
    public async Task ABadSettingStopsTheStartWithTheSettingsNameAndNotItsValue(string setting, string value)
    {
        using var app = Build([KeyValuePair.Create(setting, (string?)value)]);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token));

        Assert.True(e is OptionsValidationException or InvalidOperationException && e.Message.Contains(setting), e.ToString());
        Assert.Contains(setting, e.Message);
        Assert.DoesNotContain(value, e.Message);
    }

    [Fact]
    public async Task AProviderWithoutAClientIdStopsTheStartNamingTheProvider()
    {
        using var app = Build([KeyValuePair.Create("External__Providers__acme__Authority", (string?)"https://idp.example.test")]);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token));

        Assert.Contains("External__Providers__acme", e.Message);
    }

    [Fact]
    public void TheDefaultsAndTheSampleSettingsPassTheChecks()
    {
        using var defaults = Build([]);
        defaults.Services.GetRequiredService<IStartupValidator>().Validate();

        using var sample = Build(SampleSettings());
        sample.Services.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal(TimeSpan.FromDays(7), sample.Services.GetRequiredService<Core.AccountsOptions>().EmailRevertLinkLifetime);
    }

    [Fact]
    public void EveryOptionIsInTheReadmeTableAndTheSampleSettingsAndTheyListNoOther()
    {
        var sections = BoundSections();
        Assert.Contains(sections, s => s.Name == "Lockout" && s.Options == typeof(Core.LoginThrottleOptions));
        var options = sections.SelectMany(s => Settings.Names(s.Options, s.Name)).Select(n => ReadFrom.GetValueOrDefault(n, n)).ToList();
        var readme = ReadmeSettings();
        var sample = SampleSettings().Select(p => p.Key).ToList();

        None("options missing from the README's Configuration table", options.Where(o => !readme.Any(d => Matches(d, o))));
        // A dictionary entry (a provider) has no value to show as a sample.
        None("options missing from local.settings.sample.json", options.Where(o => !o.Contains('<') && !sample.Contains(o)));

        bool Bound(string name) => sections.Any(s => name.StartsWith(s.Name + "__", StringComparison.Ordinal));
        None("README settings that no option reads", readme.Where(d => Bound(d) && !options.Any(o => Matches(d, o))));
        None("sample settings that no option reads", sample.Where(k => Bound(k) && !options.Contains(k)));
    }

    private static void None(string what, IEnumerable<string> names)
    {
        var list = names.ToList();
        Assert.True(list.Count == 0, $"{what}: {string.Join(", ", list)}");
    }

    private static List<SettingsSection> BoundSections() =>
        new ServiceCollection().AddCore(new ConfigurationBuilder().Build())
            .Where(d => d.ServiceType == typeof(SettingsSection)).Select(d => (SettingsSection)d.ImplementationInstance!).ToList();

    private static List<KeyValuePair<string, string?>> SampleSettings()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetString())).ToList();
    }

    /// <summary>
    /// Setting names in the first column of the README's Configuration table; <c>`__Port`</c> after
    /// <c>`Email__Smtp__Host`</c> is <c>Email__Smtp__Port</c>.
    /// </summary>
    private static List<string> ReadmeSettings()
    {
        var lines = File.ReadLines(Path.Combine(Repo.Root, "README.md")).SkipWhile(l => l != "## Configuration")
            .Skip(1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)).Where(l => l.StartsWith("| `", StringComparison.Ordinal));
        var names = new List<string>();
        foreach (var line in lines)
        {
            string? last = null;
            foreach (Match m in Code().Matches(line.Split('|')[1]))
            {
                var token = m.Groups[1].Value;
                if (token.StartsWith("__", StringComparison.Ordinal) && last is not null) token = last[..last.LastIndexOf("__", StringComparison.Ordinal)] + token;
                if (!SettingName().IsMatch(token)) continue;
                names.Add(token);
                if (token.Contains("__")) last = token;
            }
        }
        Assert.True(names.Count > 40, "The README's Configuration table was not found.");
        return names;
    }

    /// <summary>A documented name matches an option's name; <c>&lt;Group&gt;</c> in the docs stands for any one segment.</summary>
    private static bool Matches(string documented, string option) =>
        Regex.IsMatch(option, "^" + Placeholder().Replace(Regex.Escape(documented), "[^_]+") + "$");

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Code();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9]*(__[A-Za-z0-9<>]+)*$")]
    private static partial Regex SettingName();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Placeholder();
}
