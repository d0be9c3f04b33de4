using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.LocalHost;

/// <summary>Turns raw function metadata (from the worker or functions.metadata) into
/// <see cref="HostFunction"/>s, refusing what Azure's host refuses.</summary>
internal static class FunctionCatalog
{
    public static List<HostFunction> Build(IEnumerable<RawFunction> raw, AppSettings settings, ILogger logger)
    {
        var result = new List<HostFunction>();
        foreach (var f in raw)
        {
            try
            {
                var bindings = f.RawBindings.Select(b => ParseBinding(b, f.Name, settings)).ToList();
                if (bindings.Count(b => b.IsTrigger) != 1)
                    throw new InvalidOperationException($"The function has {bindings.Count(b => b.IsTrigger)} trigger bindings; exactly one is required.");
                var trigger = bindings.Single(b => b.IsTrigger);
                if (trigger.Type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase))
                {
                    var route = (trigger.Route is { Length: > 0 } r ? r : f.Name).Trim('/').ToLowerInvariant();
                    if (route.StartsWith("admin", StringComparison.Ordinal) || route.StartsWith("runtime", StringComparison.Ordinal))
                        throw new InvalidOperationException("The specified route conflicts with one or more built in routes.");
                }
                result.Add(new HostFunction
                {
                    Name = f.Name,
                    FunctionId = string.IsNullOrEmpty(f.FunctionId) ? Guid.NewGuid().ToString() : f.FunctionId,
                    Bindings = bindings,
                    EntryPoint = f.EntryPoint,
                    ScriptFile = f.ScriptFile,
                    Language = f.Language,
                    RawBindings = f.RawBindings,
                    Disabled = bool.TryParse(settings.Get($"AzureWebJobs.{f.Name}.Disabled"), out var disabled) && disabled,
                });
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or System.Text.Json.JsonException)
            {
                // Azure logs the error and does not load the function; the rest of the app runs.
                logger.LogError("The '{Function}' function is in error: {Error}", f.Name, ex.Message);
            }
        }
        return result;
    }

    private static HostBinding ParseBinding(string json, string functionName, AppSettings settings)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        string Text(string name) => AppFiles.Property(o, name)?.ToString() ?? "";
        string? Opt(string name) => AppFiles.Property(o, name)?.ToString();
        var props = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in o) props[k] = v?.ToString() ?? "";

        var type = Text("type");
        var direction = Text("direction").ToLowerInvariant();
        if (direction is "") direction = "in";
        string? queueName = null, schedule = null;
        if (type.Equals("queueTrigger", StringComparison.OrdinalIgnoreCase))
        {
            var raw = Opt("queueName") ?? throw new InvalidOperationException("The queue trigger has no queueName.");
            if (!settings.TryResolve(raw, out var resolved, out var missing))
                throw new InvalidOperationException($"Error indexing method 'Functions.{functionName}': '{missing}' does not resolve to a value.");
            queueName = resolved.ToLowerInvariant();
        }
        if (type.Equals("timerTrigger", StringComparison.OrdinalIgnoreCase))
        {
            var raw = Opt("schedule") ?? throw new InvalidOperationException("The timer trigger has no schedule.");
            if (!settings.TryResolve(raw, out var resolved, out var missing))
                throw new InvalidOperationException($"Error indexing method 'Functions.{functionName}': '{missing}' does not resolve to a value.");
            TimerSchedule.Parse(resolved); // throws FormatException when invalid, as Azure refuses the function
            schedule = resolved;
        }
        IReadOnlyList<string> methods = [];
        if (AppFiles.Property(o, "methods") is JsonArray m)
            methods = m.Select(x => x!.ToString().ToLowerInvariant()).Where(x => x.Length > 0).ToList();
        return new HostBinding
        {
            Name = Text("name"),
            Type = type,
            Direction = direction,
            DataType = Opt("dataType"),
            Route = Opt("route"),
            Methods = methods,
            AuthLevel = (Opt("authLevel") ?? "function").ToLowerInvariant(),
            QueueName = queueName,
            Connection = Opt("connection"),
            Schedule = schedule,
            RunOnStartup = bool.TryParse(Opt("runOnStartup"), out var ros) && ros,
            UseMonitor = !bool.TryParse(Opt("useMonitor"), out var um) || um,
            Properties = props,
        };
    }
}
