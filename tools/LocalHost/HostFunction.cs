namespace AccountFunctions.LocalHost;

/// <summary>A function as the host loaded it.</summary>
public sealed class HostFunction
{
    public required string Name { get; init; }
    public required string FunctionId { get; init; }
    public required IReadOnlyList<HostBinding> Bindings { get; init; }

    /// <summary>The trigger binding (the one whose type ends in "Trigger").</summary>
    public HostBinding? Trigger => Bindings.FirstOrDefault(b => b.IsTrigger);

    /// <summary>App setting <c>AzureWebJobs.&lt;name&gt;.Disabled</c> is true: HTTP answers 404 (except
    /// to the master key) and its queue or timer does not run, as in Azure.</summary>
    public bool Disabled { get; init; }

    public bool IsHttp => Trigger?.Type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase) == true;

    internal string EntryPoint { get; init; } = "";
    internal string ScriptFile { get; init; } = "";
    internal string? Language { get; init; }
    internal IReadOnlyList<string> RawBindings { get; init; } = [];

    public override string ToString() => $"{Name} ({Trigger?.Type})";
}

/// <summary>One binding of a function. Trigger settings are resolved (<c>%setting%</c> replaced).</summary>
public sealed class HostBinding
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    /// <summary>"in", "out" or "inout".</summary>
    public required string Direction { get; init; }
    public string? DataType { get; init; }

    /// <summary>HTTP: the route template as written (null: the function name); without the prefix.</summary>
    public string? Route { get; init; }
    /// <summary>HTTP: the methods, lower case; empty = every method.</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];
    /// <summary>HTTP: anonymous, function or admin (lower case).</summary>
    public string? AuthLevel { get; init; }
    /// <summary>Queue: the queue name, resolved.</summary>
    public string? QueueName { get; init; }
    /// <summary>Queue: the app setting holding the connection (null = AzureWebJobsStorage).</summary>
    public string? Connection { get; init; }
    /// <summary>Timer: the schedule, resolved.</summary>
    public string? Schedule { get; init; }
    public bool RunOnStartup { get; init; }
    public bool UseMonitor { get; init; } = true;

    /// <summary>Every property of the binding as JSON text values (raw, unresolved).</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    public bool IsTrigger => Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase) && Direction == "in";
}
