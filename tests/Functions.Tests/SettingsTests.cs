using System.Text.Json;
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
public sealed class SettingsTests
{
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

    private static List<KeyValuePair<string, string?>> SampleSettings()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetString())).ToList();
    }
}
