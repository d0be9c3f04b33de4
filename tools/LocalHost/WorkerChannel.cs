using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.LocalHost;

/// <summary>One connected worker: its open EventStream, what it told us (capabilities), and the
/// requests waiting for an answer. Fails every waiter when the stream ends.</summary>
internal sealed class WorkerChannel
{
    private readonly Channel<StreamingMessage> _outbound = Channel.CreateUnbounded<StreamingMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StreamingMessage>> _pending = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger _logger;

    public WorkerChannel(string workerId, ILogger logger)
    {
        WorkerId = workerId;
        _logger = logger;
    }

    public string WorkerId { get; }
    public IReadOnlyDictionary<string, string> Capabilities { get; set; } = new Dictionary<string, string>();
    public Uri? HttpUri { get; set; }
    public int? ProcessId { get; set; }
    public Task Closed => _closed.Task;
    public bool IsClosed => _closed.Task.IsCompleted;

    /// <summary>Function id → function name, for log categories.</summary>
    public ConcurrentDictionary<string, string> InvocationFunctions { get; } = new();

    public async Task WriteLoopAsync(IServerStreamWriter<StreamingMessage> writer, CancellationToken ct)
    {
        try
        {
            await foreach (var message in _outbound.Reader.ReadAllAsync(ct))
                await writer.WriteAsync(message, ct);
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or Grpc.Core.RpcException)
        {
            _logger.LogDebug(ex, "Writing to the worker's stream failed");
        }
    }

    public void Send(StreamingMessage message)
    {
        if (!_outbound.Writer.TryWrite(message))
            throw new WorkerUnavailableException("The worker's stream is closed.");
    }

    /// <summary>Sends a message and waits for the answer registered under <paramref name="key"/>.</summary>
    public async Task<StreamingMessage> RequestAsync(string key, StreamingMessage message, TimeSpan timeout, CancellationToken ct = default)
    {
        var tcs = new TaskCompletionSource<StreamingMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pending.TryAdd(key, tcs)) throw new InvalidOperationException($"A request {key} is already waiting.");
        if (IsClosed) { _pending.TryRemove(key, out _); throw new WorkerUnavailableException("The worker disconnected."); }
        try
        {
            Send(message);
            return await tcs.Task.WaitAsync(timeout, ct);
        }
        finally
        {
            _pending.TryRemove(key, out _);
        }
    }

    /// <summary>Completes the waiter for <paramref name="key"/>; false when none waits.</summary>
    public bool Complete(string key, StreamingMessage message) =>
        _pending.TryRemove(key, out var tcs) && tcs.TrySetResult(message);

    public void Close()
    {
        _outbound.Writer.TryComplete();
        _closed.TrySetResult();
        foreach (var key in _pending.Keys)
            if (_pending.TryRemove(key, out var tcs))
                tcs.TrySetException(new WorkerUnavailableException("The worker disconnected before answering."));
    }

    public static string InitKey => "init";
    public static string MetadataKey => "metadata";
    public static string LoadKey(string functionId) => "load:" + functionId;
    public static string InvocationKey(string invocationId) => "invoke:" + invocationId;
}

/// <summary>No worker is connected (or it left while a request waited).</summary>
public sealed class WorkerUnavailableException(string message) : Exception(message);
