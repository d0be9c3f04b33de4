using System.Net;
using System.Net.Sockets;
using AccountFunctions.LocalHost;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AccountFunctions.Functions.Tests.Support;

/// <summary>
/// The local Functions host (tools/LocalHost) in this process, and the app's worker
/// (AccountFunctionsApp.Build) in this process too, connected to it over loopback gRPC as a worker
/// the host had started would be. Settings and services can be replaced before the worker starts.
/// Used by the tests (TestApp) and the bench.
/// </summary>
public sealed class InProcessWorker : IAsyncDisposable
{
    private InProcessWorker(LocalFunctionsHost host, IHost worker)
    {
        Host = host;
        Worker = worker;
    }

    public LocalFunctionsHost Host { get; }
    public IHost Worker { get; }
    public IServiceProvider Services => Worker.Services;
    public Uri BaseAddress => Host.BaseAddress;

    /// <summary>The build output of src/Functions (host.json, functions.metadata) beside this process's configuration.</summary>
    public static string AppDirectory(string repoRoot) => Path.Combine(repoRoot, "src", "Functions", "bin",
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name, "net10.0");

    /// <param name="settings">App settings, with <c>:</c> or <c>__</c> as the separator: the host gets them (for
    /// its bindings) and so does the worker.</param>
    public static async Task<InProcessWorker> StartAsync(string appDirectory, IDictionary<string, string?> settings,
        Action<FunctionsApplicationBuilder>? configure = null)
    {
        // The worker reads its folder (host.json) from the process environment, as under a host.
        Environment.SetEnvironmentVariable("FUNCTIONS_APPLICATION_DIRECTORY", appDirectory);
        var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions
        {
            AppDirectory = appDirectory,
            LaunchWorker = false,
            Settings = settings.ToDictionary(p => p.Key.Replace(":", "__"), p => p.Value),
        });
        IHost? worker = null;
        try
        {
            var port = FreePort();
            worker = AccountFunctionsApp.Build([], builder =>
            {
                builder.Configuration.AddInMemoryCollection(settings.Select(p => KeyValuePair.Create(p.Key.Replace("__", ":"), p.Value)));
                // What the host's --functions-* switches would say.
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Functions:Worker:HostEndpoint"] = host.GrpcAddress.ToString(),
                    ["Functions:Worker:WorkerId"] = host.WorkerId,
                    ["Functions:Worker:RequestId"] = host.RequestId,
                    ["Functions:Worker:GrpcMaxMessageLength"] = int.MaxValue.ToString(),
                });
                // The ASP.NET Core integration picks one port per process; each app here needs its own.
                builder.Services.Configure<KestrelServerOptions>(k => k.Listen(IPAddress.Loopback, port));
                builder.Services.Configure<WorkerOptions>(o => o.Capabilities["HttpUri"] = $"http://127.0.0.1:{port}/");
                configure?.Invoke(builder);
            });
            await worker.StartAsync();
            await host.WaitForWorkerAsync(TimeSpan.FromSeconds(60));
            return new InProcessWorker(host, worker);
        }
        catch
        {
            worker?.Dispose();
            await host.DisposeAsync();
            throw;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        // The host first: it ends the gRPC stream, so the worker's stop does not wait on it.
        await Host.DisposeAsync();
        try { await Worker.StopAsync(TimeSpan.FromSeconds(10)); }
        finally { Worker.Dispose(); }
    }
}
