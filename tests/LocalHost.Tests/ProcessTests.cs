using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccountFunctions.LocalHost.Tests.Support;

namespace AccountFunctions.LocalHost.Tests;

public sealed class ProcessTests
{
    [Fact]
    public async Task StoppingTheHostLeavesNoWorkerProcess()
    {
        var sample = await SampleHost.StartAsync();
        var pid = sample.Host.WorkerProcessId!.Value;
        Assert.True(TestEnv.ProcessAlive(pid));
        Assert.NotEmpty(TestEnv.ProcessesWith(sample.Host.WorkerId));
        var sw = Stopwatch.StartNew();
        await sample.DisposeAsync();
        Assert.False(TestEnv.ProcessAlive(pid), "the worker is still running after StopAsync");
        await TestEnv.WaitUntilAsync(() => TestEnv.ProcessesWith(sample.Host.WorkerId).Count == 0, TimeSpan.FromSeconds(3), "no process with the worker id (the watchdog included)");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {sw.Elapsed}");
    }

    [Fact]
    public async Task ACrashedWorkerIsRestartedAndServesAgain()
    {
        await using var sample = await SampleHost.StartAsync();
        var first = JsonDocument.Parse(await sample.Http.GetStringAsync("/api/echo/a")).RootElement.GetProperty("pid").GetInt32();
        Assert.Equal(sample.Host.WorkerProcessId, first);
        Process.GetProcessById(first).Kill();
        await TestEnv.WaitUntilAsync(() => sample.Host.WorkerGeneration >= 2, TimeSpan.FromSeconds(30), "a new worker completed the handshake");
        var response = await sample.Http.GetAsync("/api/echo/a");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var second = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("pid").GetInt32();
        Assert.NotEqual(first, second);
        Assert.False(TestEnv.ProcessAlive(first));
        Assert.Equal(17, sample.Host.Functions.Count);
    }

    /// <summary>Starts the host as a command (dotnet AccountFunctions.LocalHost.dll --app ...) and
    /// waits until its worker is ready; returns the process and the worker's pid.</summary>
    private static async Task<(Process Host, int WorkerPid, int Port)> StartCommandAsync()
    {
        var port = TestEnv.FreePort();
        var azurite = await Azurite.GetAsync();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { TestEnv.LocalHostDll, "--app", TestEnv.SampleWorkerDir, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) }) info.ArgumentList.Add(a);
        info.Environment["Sample_Queue"] = "cmdtest";
        info.Environment["Sample_Schedule"] = "0 0 0 1 1 *";
        info.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
        var host = Process.Start(info)!;
        int? workerPid = null;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            var m = Regex.Match(e.Data, @"Worker process started: pid (\d+)");
            if (m.Success) workerPid = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (e.Data.Contains("Worker ready", StringComparison.Ordinal)) ready.TrySetResult();
        };
        host.ErrorDataReceived += (_, _) => { };
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            host.Kill(entireProcessTree: true);
            throw;
        }
        Assert.NotNull(workerPid);
        Assert.True(TestEnv.ProcessAlive(workerPid!.Value));
        using (var http = new HttpClient()) Assert.Equal("hello", await http.GetStringAsync($"http://127.0.0.1:{port}/api/hello"));
        return (host, workerPid.Value, port);
    }

    [Fact]
    public async Task AHostKilledWithSigkillTakesItsWorkerWithIt()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (host, workerPid, _) = await StartCommandAsync();
        try
        {
            host.Kill(entireProcessTree: false); // SIGKILL, the host only
            await TestEnv.WaitUntilAsync(() => !TestEnv.ProcessAlive(workerPid), TimeSpan.FromSeconds(5), "the orphaned worker to die");
        }
        finally
        {
            if (TestEnv.ProcessAlive(workerPid)) Process.GetProcessById(workerPid).Kill(entireProcessTree: true);
            if (!host.HasExited) host.Kill(entireProcessTree: true);
            host.Dispose();
        }
    }

    [Fact]
    public async Task TheCommandStopsItselfAndItsWorkerOnSigterm()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (host, workerPid, _) = await StartCommandAsync();
        try
        {
            using (var kill = Process.Start("kill", ["-TERM", host.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await host.WaitForExitAsync(cts.Token);
            Assert.Equal(0, host.ExitCode);
            Assert.False(TestEnv.ProcessAlive(workerPid), "the worker outlived the command");
        }
        finally
        {
            if (TestEnv.ProcessAlive(workerPid)) Process.GetProcessById(workerPid).Kill(entireProcessTree: true);
            if (!host.HasExited) host.Kill(entireProcessTree: true);
            host.Dispose();
        }
    }

    [Fact]
    public async Task AWorkerStartedElsewhereConnectsWithTheWorkerIdAndRequestsGet503WhileNoneIsThere()
    {
        await using var sample = await SampleHost.StartAsync(launchWorker: false);
        Assert.Null(sample.Host.WorkerProcessId);
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestEnv.SampleWorkerDir };
        foreach (var a in new[]
        {
            Path.Combine(TestEnv.SampleWorkerDir, "SampleWorker.dll"),
            "--functions-uri", sample.Host.GrpcAddress.ToString(),
            "--functions-worker-id", sample.Host.WorkerId,
            "--functions-request-id", sample.Host.RequestId,
            "--functions-grpc-max-message-length", "2147483647",
        }) info.ArgumentList.Add(a);
        info.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = TestEnv.SampleWorkerDir;
        info.Environment["Sample_Setting"] = "external";
        using var worker = Process.Start(info)!;
        worker.OutputDataReceived += (_, _) => { };
        worker.ErrorDataReceived += (_, _) => { };
        worker.BeginOutputReadLine();
        worker.BeginErrorReadLine();
        try
        {
            await sample.Host.WaitForWorkerAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(17, sample.Host.Functions.Count);
            Assert.Equal("hello", await sample.Http.GetStringAsync("/api/hello"));
            worker.Kill(entireProcessTree: true);
            await worker.WaitForExitAsync();
            var sw = Stopwatch.StartNew();
            using var response = await sample.Http.GetAsync("/api/hello");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(9), "503 came before the wait for a worker");
        }
        finally
        {
            if (!worker.HasExited) worker.Kill(entireProcessTree: true);
        }
    }
}
