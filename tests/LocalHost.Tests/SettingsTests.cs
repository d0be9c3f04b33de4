using System.Text.Json;
using AccountFunctions.LocalHost.Tests.Support;

namespace AccountFunctions.LocalHost.Tests;

public sealed class SettingsTests
{
    [Fact]
    public void OptionsWinOverTheEnvironmentWhichWinsOverLocalSettings()
    {
        var file = Path.Combine(Path.GetTempPath(), "localhost-settings-" + Guid.NewGuid().ToString("N") + ".json");
        var id = Guid.NewGuid().ToString("N")[..8];
        string a = "LH_A_" + id, b = "LH_B_" + id, c = "LH_C_" + id;
        File.WriteAllText(file, JsonSerializer.Serialize(new { IsEncrypted = false, Values = new Dictionary<string, object> { [a] = "file", [b] = "file", [c] = "file" } }));
        Environment.SetEnvironmentVariable(b, "env");
        Environment.SetEnvironmentVariable(c, "env");
        try
        {
            var settings = AppSettings.Load(new LocalHostOptions
            {
                AppDirectory = ".",
                SettingsFile = file,
                Settings = new Dictionary<string, string?> { [c] = "options" },
            });
            Assert.Equal("file", settings.Get(a));
            Assert.Equal("env", settings.Get(b));
            Assert.Equal("options", settings.Get(c));
            Assert.True(settings.TryResolve($"q-%{a}%-%{c}%", out var resolved, out _));
            Assert.Equal("q-file-options", resolved);
            Assert.False(settings.TryResolve("%LH_missing_" + id + "%", out _, out var missing));
            Assert.Equal("LH_missing_" + id, missing);
        }
        finally
        {
            Environment.SetEnvironmentVariable(b, null);
            Environment.SetEnvironmentVariable(c, null);
            File.Delete(file);
        }
    }

    [Fact]
    public async Task TheWorkerGetsTheMergedSettingsAsItsEnvironment()
    {
        var file = Path.Combine(Path.GetTempPath(), "localhost-settings-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(file, """{ "Values": { "Sample_Setting": "from-file", "Sample_Queue": "from-file-queue" } }""");
        try
        {
            var azurite = await Azurite.GetAsync();
            await using var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
            {
                AppDirectory = TestEnv.SampleWorkerDir,
                SettingsFile = file,
                LoggerFactory = SampleHost.Logging,
                Settings = new Dictionary<string, string?> { ["Sample_Schedule"] = "0 0 0 1 1 *", ["AzureWebJobsStorage"] = azurite.ConnectionString },
            });
            using var http = new HttpClient { BaseAddress = host.BaseAddress };
            var echo = JsonDocument.Parse(await http.GetStringAsync("/api/echo/x")).RootElement;
            Assert.Equal("from-file", echo.GetProperty("setting").GetString());
            Assert.Equal("from-file-queue", host.Functions.Single(f => f.Name == "OnQueue").Trigger!.QueueName);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
