using Azure.Core;
using Azure.Core.Pipeline;

namespace AccountFunctions.Core.Storage;

/// <summary>One storage call as the pipeline saw it: HTTP method and the table or queue (prefix removed).</summary>
public sealed record StorageCall(string Method, string Resource, int Status)
{
    public override string ToString() => $"{Method} {Resource} {Status}";
}

/// <summary>
/// Records the storage calls made inside a <see cref="Record"/> scope (an AsyncLocal, so only
/// the calls of the code awaited inside it, not a parallel request's or the queue drain's).
/// Installed on every client by StorageContext; a no-op outside a scope. Tests use it to show
/// that two paths do the same storage work (LoginTests).
/// </summary>
public sealed class StorageCalls(string prefix) : HttpPipelinePolicy
{
    private readonly AsyncLocal<List<StorageCall>?> _current = new();

    public Scope Record() => new(this);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ProcessNext(message, pipeline);
        Add(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline);
        Add(message);
    }

    private void Add(HttpMessage message)
    {
        if (_current.Value is not { } list) return;
        // /<account>/<resource>(keys) or /<account>/<queue>/messages; $batch is a transaction.
        var parts = message.Request.Uri.Path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var resource = parts.Length > 1 ? parts[1] : "";
        if (resource.IndexOf('(') is var paren and > 0) resource = resource[..paren];
        if (resource.StartsWith(prefix, StringComparison.Ordinal) && prefix.Length > 0) resource = resource[prefix.Length..];
        lock (list) list.Add(new StorageCall(message.Request.Method.Method, resource, message.HasResponse ? message.Response.Status : 0));
    }

    public sealed class Scope : IDisposable
    {
        private readonly StorageCalls _owner;
        private readonly List<StorageCall>? _outer;
        private readonly List<StorageCall> _calls = [];

        internal Scope(StorageCalls owner)
        {
            _owner = owner;
            _outer = owner._current.Value;
            owner._current.Value = _calls;
        }

        public IReadOnlyList<StorageCall> Calls { get { lock (_calls) return [.. _calls]; } }

        public void Dispose() => _owner._current.Value = _outer;
    }
}
