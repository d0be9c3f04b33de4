using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.LocalHost;

/// <summary>Starts the worker process as worker.config.json describes it. On Unix the worker runs
/// under a tiny shell watchdog: the shell forks a loop that checks every 0.5 s that the host's
/// pid is alive, then execs the worker (so the process we hold is the worker itself). If the host
/// dies, even by SIGKILL, the loop kills the worker with SIGKILL.</summary>
internal sealed class WorkerProcess
{
    private const string Watchdog =
        "h=$1; shift; " +
        "( while kill -0 \"$h\" 2>/dev/null && kill -0 $$ 2>/dev/null; do sleep 0.5; done; kill -9 $$ 2>/dev/null ) </dev/null >/dev/null 2>&1 & " +
        "exec \"$@\"";

    private readonly Process _process;
    private readonly ILogger _logger;

    private WorkerProcess(Process process, ILogger logger)
    {
        _process = process;
        _logger = logger;
    }

    public int Id => _process.Id;
    public DateTime StartedAtUtc { get; } = DateTime.UtcNow;
    public bool HasExited => _process.HasExited;
    public Task Exited { get; private set; } = Task.CompletedTask;
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public static WorkerProcess Start(AppFiles files, AppSettings settings, Uri grpcAddress, string workerId, string requestId, ILogger logger)
    {
        var exe = files.WorkerExecutable;
        var args = new List<string>(files.WorkerArguments);
        if (!string.IsNullOrEmpty(files.WorkerPath))
            args.Add(Path.IsPathRooted(files.WorkerPath) ? files.WorkerPath : Path.Combine(files.AppDirectory, files.WorkerPath));
        args.AddRange([
            "--functions-uri", grpcAddress.ToString(),
            "--functions-worker-id", workerId,
            "--functions-request-id", requestId,
            "--functions-grpc-max-message-length", int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ]);

        ProcessStartInfo info;
        if (OperatingSystem.IsWindows())
        {
            // No watchdog on Windows (a Job object would be the tool); see README.
            info = new ProcessStartInfo(exe);
            foreach (var a in args) info.ArgumentList.Add(a);
        }
        else
        {
            info = new ProcessStartInfo("/bin/sh");
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(Watchdog);
            info.ArgumentList.Add("localhost-worker");
            info.ArgumentList.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            info.ArgumentList.Add(exe);
            foreach (var a in args) info.ArgumentList.Add(a);
        }
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = false;
        info.WorkingDirectory = files.AppDirectory;
        info.Environment.Clear();
        foreach (var (k, v) in settings.Values) info.Environment[k] = v;
        info.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = files.AppDirectory;
        info.Environment["FUNCTIONS_WORKER_DIRECTORY"] = files.AppDirectory;
        info.Environment["AzureWebJobsScriptRoot"] = files.AppDirectory;
        if (!info.Environment.ContainsKey("FUNCTIONS_WORKER_RUNTIME")) info.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) logger.LogInformation("{Line}", line); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) logger.LogWarning("{Line}", line); };
        if (!process.Start()) throw new InvalidOperationException($"Could not start the worker: {exe}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var wp = new WorkerProcess(process, logger) { Exited = exited.Task };
        if (process.HasExited) exited.TrySetResult();
        logger.LogInformation("Worker process started: pid {Pid}, {Exe} {Args}", process.Id, exe, string.Join(' ', args));
        return wp;
    }

    /// <summary>Waits up to <paramref name="grace"/> for the worker to exit, then kills its process tree.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        try
        {
            await Exited.WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("The worker (pid {Pid}) did not exit within {Grace}; killing it", Id, grace);
        }
        Kill();
        try { await Exited.WaitAsync(TimeSpan.FromSeconds(10)); } catch (TimeoutException) { }
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            _logger.LogDebug(ex, "Killing the worker failed");
        }
    }
}
