using System.Text.Json.Nodes;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// What the app needs to know of host.json, the host's own configuration: the queue retry count
/// (the poison metric counts a message's last try). Read once from the function app's folder.
/// </summary>
public sealed class HostSettings
{
    public int MaxDequeueCount { get; init; } = 5;

    public static HostSettings Load()
    {
        var folder = Environment.GetEnvironmentVariable("FUNCTIONS_APPLICATION_DIRECTORY") is { Length: > 0 } d ? d : AppContext.BaseDirectory;
        var path = Path.Combine(folder, "host.json");
        if (!File.Exists(path)) return new HostSettings();
        var queues = JsonNode.Parse(File.ReadAllText(path), documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })?["extensions"]?["queues"];
        return new HostSettings { MaxDequeueCount = queues?["maxDequeueCount"]?.GetValue<int>() ?? 5 };
    }
}
