using System.Net;
using System.Reflection;
using System.Text.Json;
using AccountFunctions.LocalHost.Tests.Support;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace AccountFunctions.LocalHost.Tests;

/// <summary>The worker inside the test process (LaunchWorker = false): what the app's own tests
/// do to replace services before the worker starts.</summary>
public sealed class InProcessWorkerTests
{
    [Fact]
    public async Task AWorkerInTheTestProcessConnectsAndServes()
    {
        await using var sample = await SampleHost.StartAsync(launchWorker: false, terminateGrace: TimeSpan.FromMilliseconds(500));
        var host = sample.Host;

        // The worker reads the function assembly's folder from the real environment.
        Environment.SetEnvironmentVariable("FUNCTIONS_APPLICATION_DIRECTORY", TestEnv.SampleWorkerDir);
        var appAssembly = typeof(AccountFunctions.SampleWorker.HttpFunctions).Assembly;
        var builder = new HostBuilder().ConfigureFunctionsWebApplication(worker =>
        {
            // The extension start-up code the source generator wrote into the app assembly
            // (the worker looks for it on the entry assembly, which is the test host here).
            var info = appAssembly.GetCustomAttribute<WorkerExtensionStartupCodeExecutorInfoAttribute>();
            if (info is not null) ((WorkerExtensionStartup)Activator.CreateInstance(info.StartupCodeExecutorType)!).Configure(worker);
        });
        // The generated function metadata provider and executor, for the same reason.
        foreach (var type in appAssembly.GetTypes().Where(t => typeof(IAutoConfigureStartup).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface))
            ((IAutoConfigureStartup)Activator.CreateInstance(type)!).Configure(builder);
        // What the four command-line switches map to; added last so they win.
        builder.ConfigureAppConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Functions:Worker:HostEndpoint"] = host.GrpcAddress.ToString(),
            ["Functions:Worker:WorkerId"] = host.WorkerId,
            ["Functions:Worker:RequestId"] = host.RequestId,
            ["Functions:Worker:GrpcMaxMessageLength"] = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
        using var app = builder.Build();
        await app.StartAsync();
        try
        {
            await host.WaitForWorkerAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(17, host.Functions.Count);
            Assert.Equal("item 42", await sample.Http.GetStringAsync("/api/items/42"));
            var echo = JsonDocument.Parse(await sample.Http.GetStringAsync("/api/echo/a")).RootElement;
            Assert.Equal(Environment.ProcessId, echo.GetProperty("pid").GetInt32());
            Assert.Equal(HttpStatusCode.InternalServerError, (await sample.Http.GetAsync("/api/throws")).StatusCode);
        }
        finally
        {
            // The host first: WorkerTerminate asks the worker's application to stop (nobody waits
            // for that here, StartAsync not RunAsync), the host waits out its grace period, then
            // cancels the stream, after which the worker's host stops at once. Stopping the worker
            // first is slower: it waits for the open stream until its own shutdown timeout.
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await host.StopAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(cts.Token);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {sw.Elapsed}");
        }
    }
}
