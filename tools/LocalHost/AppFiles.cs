using System.Text.Json;
using System.Text.Json.Nodes;

namespace AccountFunctions.LocalHost;

/// <summary>What the host reads from the app folder: worker.config.json, host.json, functions.metadata.</summary>
internal sealed class AppFiles
{
    public required string AppDirectory { get; init; }
    public required string WorkerExecutable { get; init; }
    public required string? WorkerPath { get; init; }
    public required IReadOnlyList<string> WorkerArguments { get; init; }
    public required bool WorkerIndexing { get; init; }
    public required JsonObject HostJson { get; init; }

    public string RoutePrefix { get; init; } = "api";
    public TimeSpan? FunctionTimeout { get; init; }
    public QueueOptions Queues { get; init; } = new();

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The app settings that override host.json, as in Azure: <c>AzureFunctionsJobHost__a__b</c> sets <c>a.b</c>.</summary>
    public const string HostJsonOverridePrefix = "AzureFunctionsJobHost__";

    public static AppFiles Load(string appDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        appDirectory = Path.GetFullPath(appDirectory);
        var workerConfigPath = Path.Combine(appDirectory, "worker.config.json");
        if (!File.Exists(workerConfigPath)) throw new FileNotFoundException($"worker.config.json not found in {appDirectory}: is it the build output of an isolated worker app?", workerConfigPath);
        var workerConfig = JsonNode.Parse(File.ReadAllText(workerConfigPath), documentOptions: Lenient)!.AsObject();
        var description = workerConfig["description"]?.AsObject() ?? throw new InvalidDataException("worker.config.json has no description.");
        var exe = description["defaultExecutablePath"]?.GetValue<string>() ?? "dotnet";
        var workerPath = description["defaultWorkerPath"]?.GetValue<string>();
        var args = description["arguments"]?.AsArray().Select(a => a!.GetValue<string>()).ToList() ?? [];
        var indexing = string.Equals(description["workerIndexing"]?.ToString(), "true", StringComparison.OrdinalIgnoreCase);

        var hostJsonPath = Path.Combine(appDirectory, "host.json");
        var hostJson = File.Exists(hostJsonPath)
            ? JsonNode.Parse(File.ReadAllText(hostJsonPath), documentOptions: Lenient)?.AsObject() ?? new JsonObject()
            : new JsonObject();
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            if (key.StartsWith(HostJsonOverridePrefix, StringComparison.OrdinalIgnoreCase))
                Override(hostJson, key[HostJsonOverridePrefix.Length..].Split("__"), value);

        var extensions = Child(hostJson, "extensions");
        var http = extensions is null ? null : Child(extensions, "http");
        var prefix = "api";
        if (http is not null && Property(http, "routePrefix") is { } p) prefix = p.GetValue<string>() ?? "";
        TimeSpan? timeout = null;
        if (Property(hostJson, "functionTimeout") is { } t && TimeSpan.TryParse(t.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out var ts) && ts > TimeSpan.Zero)
            timeout = ts;

        return new AppFiles
        {
            AppDirectory = appDirectory,
            WorkerExecutable = exe,
            WorkerPath = workerPath,
            WorkerArguments = args,
            WorkerIndexing = indexing,
            HostJson = hostJson,
            RoutePrefix = prefix.Trim('/'),
            FunctionTimeout = timeout,
            Queues = QueueOptions.From(extensions is null ? null : Child(extensions, "queues")),
        };
    }

    /// <summary>functions.metadata (written by the Worker SDK): the fallback when the worker asks for default indexing.</summary>
    public IReadOnlyList<RawFunction> ReadFunctionsMetadata()
    {
        var path = Path.Combine(AppDirectory, "functions.metadata");
        if (!File.Exists(path)) return [];
        var list = new List<RawFunction>();
        foreach (var node in JsonNode.Parse(File.ReadAllText(path), documentOptions: Lenient)!.AsArray())
        {
            var o = node!.AsObject();
            list.Add(new RawFunction(
                Name: Property(o, "name")!.GetValue<string>(),
                FunctionId: null,
                ScriptFile: Property(o, "scriptFile")?.GetValue<string>() ?? "",
                EntryPoint: Property(o, "entryPoint")?.GetValue<string>() ?? "",
                Language: Property(o, "language")?.GetValue<string>(),
                RawBindings: Property(o, "bindings")?.AsArray().Select(b => b!.ToJsonString()).ToList() ?? []));
        }
        return list;
    }

    /// <summary>Sets one host.json value at a path of (case-insensitive) property names, creating objects on the way.</summary>
    private static void Override(JsonObject root, string[] path, string value)
    {
        var node = root;
        foreach (var name in path[..^1])
        {
            if (Child(node, name) is { } child) { node = child; continue; }
            var created = new JsonObject();
            node[ExistingName(node, name) ?? name] = created;
            node = created;
        }
        node[ExistingName(node, path[^1]) ?? path[^1]] = JsonValue.Create(value);
    }

    private static string? ExistingName(JsonObject o, string name) =>
        o.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Case-insensitive property lookup (host.json keys are case-insensitive in Azure).</summary>
    internal static JsonNode? Property(JsonObject o, string name)
    {
        foreach (var (k, v) in o) if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    internal static JsonObject? Child(JsonObject o, string name) => Property(o, name) as JsonObject;
}

internal sealed record RawFunction(string Name, string? FunctionId, string ScriptFile, string EntryPoint, string? Language, IReadOnlyList<string> RawBindings);

/// <summary>host.json extensions.queues, with Azure's defaults except <see cref="MaxPollingInterval"/>.</summary>
internal sealed class QueueOptions
{
    public int BatchSize { get; init; } = 16;
    public int NewBatchThreshold { get; init; } = 8;
    /// <summary>Azure's default is 1 minute; locally 2 s so a test or a developer does not wait.</summary>
    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;
    public int MaxDequeueCount { get; init; } = 5;
    public bool Base64 { get; init; } = true;

    public static QueueOptions From(JsonObject? q)
    {
        if (q is null) return new QueueOptions();
        int batch = Int(q, "batchSize") ?? 16;
        batch = Math.Clamp(batch, 1, 32);
        return new QueueOptions
        {
            BatchSize = batch,
            NewBatchThreshold = Int(q, "newBatchThreshold") ?? batch / 2,
            MaxPollingInterval = Span(q, "maxPollingInterval") ?? TimeSpan.FromSeconds(2),
            VisibilityTimeout = Span(q, "visibilityTimeout") ?? TimeSpan.Zero,
            MaxDequeueCount = Int(q, "maxDequeueCount") ?? 5,
            Base64 = !string.Equals(AppFiles.Property(q, "messageEncoding")?.ToString(), "none", StringComparison.OrdinalIgnoreCase),
        };
    }

    private static int? Int(JsonObject o, string name) =>
        AppFiles.Property(o, name) is { } n && int.TryParse(n.ToString(), out var i) ? i : null;

    private static TimeSpan? Span(JsonObject o, string name)
    {
        var n = AppFiles.Property(o, name);
        if (n is null) return null;
        var text = n.ToString();
        if (TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var ts)) return ts;
        // A bare number is milliseconds (as the WebJobs options binder reads it for maxPollingInterval).
        if (double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var ms)) return TimeSpan.FromMilliseconds(ms);
        return null;
    }
}
