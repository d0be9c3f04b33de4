using AccountFunctions.LocalHost;
using Microsoft.Extensions.Logging;

// dotnet run --project tools/LocalHost -- --app <build output dir> [--port 7071] [--settings <local.settings.json>]
string? app = null, settingsFile = null;
int port = 7071;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--app" when i + 1 < args.Length: app = args[++i]; break;
        case "--port" when i + 1 < args.Length: port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--settings" when i + 1 < args.Length: settingsFile = args[++i]; break;
        case "-h" or "--help":
            Console.WriteLine("Usage: AccountFunctions.LocalHost --app <build output dir> [--port 7071] [--settings <local.settings.json>]");
            return 0;
        default:
            Console.Error.WriteLine($"Unknown argument: {args[i]}");
            return 2;
    }
}
if (app is null)
{
    Console.Error.WriteLine("--app <build output dir> is required.");
    return 2;
}
if (settingsFile is null && File.Exists("local.settings.json")) settingsFile = Path.GetFullPath("local.settings.json");

using var loggerFactory = LoggerFactory.Create(b => b
    .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
    .SetMinimumLevel(LogLevel.Information)
    .AddFilter("Microsoft", LogLevel.Warning)
    .AddFilter("Grpc", LogLevel.Warning)
    .AddFilter("Worker.Microsoft", LogLevel.Warning));
var log = loggerFactory.CreateLogger("LocalHost");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

await using var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
{
    AppDirectory = app,
    HttpPort = port,
    SettingsFile = settingsFile,
    LoggerFactory = loggerFactory,
}, stop.Token);

log.LogInformation("Functions:");
foreach (var f in host.Functions)
{
    var t = f.Trigger!;
    var where = f.IsHttp ? $"[{(t.Methods.Count == 0 ? "ALL" : string.Join(',', t.Methods).ToUpperInvariant())}] {host.BaseAddress}{(host.Files.RoutePrefix.Length > 0 ? host.Files.RoutePrefix + "/" : "")}{(string.IsNullOrEmpty(t.Route) ? f.Name : t.Route)} ({t.AuthLevel})"
        : t.QueueName is not null ? $"queue {t.QueueName}" : t.Schedule is not null ? $"timer {t.Schedule}" : t.Type;
    log.LogInformation("  {Name}: {Where}", f.Name, where);
}
log.LogInformation("Master key: {Key}  Function key: {FunctionKey}", host.MasterKey, host.FunctionKey);
try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
await host.StopAsync();
return 0;
