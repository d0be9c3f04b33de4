using Microsoft.Extensions.Logging;

namespace AccountFunctions.LocalHost;

/// <summary>How to start a <see cref="LocalFunctionsHost"/>.</summary>
public sealed class LocalHostOptions
{
    /// <summary>Folder holding host.json, worker.config.json, functions.metadata (a build output).</summary>
    public required string AppDirectory { get; init; }

    /// <summary>HTTP port on 127.0.0.1; 0 = a free port.</summary>
    public int HttpPort { get; init; }

    /// <summary>App settings; they win over the environment and local.settings.json.</summary>
    public IDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>local.settings.json: its "Values" are app settings (the environment wins over them, as func does).</summary>
    public string? SettingsFile { get; init; }

    /// <summary>false: a worker started elsewhere (in the test process) connects to <see cref="LocalFunctionsHost.GrpcAddress"/>.</summary>
    public bool LaunchWorker { get; init; } = true;

    /// <summary>Master key; null = generated.</summary>
    public string? MasterKey { get; init; }

    /// <summary>The "default" function key; null = generated.</summary>
    public string? FunctionKey { get; init; }

    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Added: port of the gRPC endpoint on 127.0.0.1; 0 = a free port.</summary>
    public int GrpcPort { get; init; }

    /// <summary>Added: how long StartAsync waits for a launched worker to load every function (default 60 s).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Added: grace period sent in WorkerTerminate before the worker is killed (default 5 s).</summary>
    public TimeSpan WorkerTerminateGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Added: restart a launched worker that exits unexpectedly (default true).</summary>
    public bool RestartWorker { get; init; } = true;
}
