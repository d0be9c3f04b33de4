using System.Text.Json;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.LocalHost;

/// <summary>Polls one queue for a queueTrigger function, as the WebJobs queue listener does:
/// batches, exponential back-off when empty, delete on success, visibility timeout on failure,
/// poison queue after maxDequeueCount.</summary>
internal sealed class QueueListener
{
    private static readonly TimeSpan MinPolling = TimeSpan.FromMilliseconds(100);
    /// <summary>How long a received message stays invisible while the function runs (renewed at half).</summary>
    private static readonly TimeSpan ProcessingVisibility = TimeSpan.FromMinutes(10);

    private readonly LocalFunctionsHost _host;
    private readonly HostFunction _function;
    private readonly ILogger _logger;
    private readonly QueueOptions _options;

    public QueueListener(LocalFunctionsHost host, HostFunction function, ILogger logger)
    {
        _host = host;
        _function = function;
        _logger = logger;
        _options = host.Files.Queues;
    }

    /// <summary>The connection string from the setting named by the binding's <c>connection</c>
    /// (default AzureWebJobsStorage; also tried with the AzureWebJobs prefix, as Azure does).</summary>
    public static string ConnectionString(LocalFunctionsHost host, HostBinding binding)
    {
        var settingName = string.IsNullOrEmpty(binding.Connection) ? "AzureWebJobsStorage" : binding.Connection;
        return host.Settings.Get(settingName) ?? host.Settings.Get("AzureWebJobs" + settingName)
            ?? throw new InvalidOperationException($"Storage account connection string '{settingName}' does not exist. Make sure that it is a defined App Setting.");
    }

    public static QueueServiceClient ServiceClient(LocalFunctionsHost host, HostBinding binding, Azure.Core.SyncAsyncEventHandler<QueueMessageDecodingFailedEventArgs>? decodingFailed = null)
    {
        var options = new QueueClientOptions { MessageEncoding = host.Files.Queues.Base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None };
        if (decodingFailed is not null) options.MessageDecodingFailed += decodingFailed;
        return new QueueServiceClient(ConnectionString(host, binding), options);
    }

    public async Task RunAsync(CancellationToken ct)
    {
        QueueClient queue, poison;
        try
        {
            QueueClient? rawPoison = null;
            var service = ServiceClient(_host, _function.Trigger!, args => MoveUndecodableAsync(args, rawPoison!));
            queue = service.GetQueueClient(_function.Trigger!.QueueName);
            poison = service.GetQueueClient(_function.Trigger!.QueueName + "-poison");
            // The poison copy of a message that is not valid base64 keeps its raw text.
            rawPoison = new QueueServiceClient(ConnectionString(_host, _function.Trigger!)).GetQueueClient(poison.Name);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            _logger.LogError("The listener for function '{Function}' was unable to start: {Error}", _function.Name, ex.Message);
            return;
        }
        _logger.LogInformation("Polling queue '{Queue}' for '{Function}'", queue.Name, _function.Name);
        var delay = MinPolling;
        var inFlight = new List<Task>();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // Wait for a worker; do not take messages nobody can run.
                if (await _host.GetWorkerAsync(TimeSpan.FromSeconds(5), ct) is null) continue;
                inFlight.RemoveAll(t => t.IsCompleted);
                if (inFlight.Count > _options.NewBatchThreshold)
                {
                    await Task.WhenAny(inFlight).WaitAsync(ct);
                    continue;
                }
                QueueMessage[] messages;
                try
                {
                    messages = (await queue.ReceiveMessagesAsync(_options.BatchSize, ProcessingVisibility, ct)).Value;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    messages = []; // the queue does not exist yet: as empty
                }
                if (messages.Length == 0)
                {
                    await Task.Delay(delay, ct);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxPollingInterval.Ticks));
                    continue;
                }
                delay = MinPolling;
                foreach (var m in messages) inFlight.Add(ProcessAsync(queue, poison, m, ct));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
            {
                _logger.LogWarning("Polling '{Queue}' failed: {Error}", queue.Name, ex.Message);
                try { await Task.Delay(_options.MaxPollingInterval, ct); } catch (OperationCanceledException) { break; }
            }
        }
        try { await Task.WhenAll(inFlight).WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception ex) when (ex is not OutOfMemoryException) { }
    }

    /// <summary>A message that does not decode (not base64 under base64 encoding) goes to the
    /// poison queue at once, as the WebJobs queue extension does.</summary>
    private async Task MoveUndecodableAsync(QueueMessageDecodingFailedEventArgs args, QueueClient rawPoison)
    {
        if (args.ReceivedMessage is not { } m) return;
        _logger.LogWarning("Message {Id} in '{Queue}' could not be decoded; moving it to '{Poison}'", m.MessageId, args.Queue.Name, rawPoison.Name);
        try
        {
            await rawPoison.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None);
            await rawPoison.SendMessageAsync(m.Body, cancellationToken: CancellationToken.None);
            await args.Queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, CancellationToken.None);
        }
        catch (RequestFailedException ex)
        {
            _logger.LogWarning("Moving undecodable message {Id} failed: {Error}", m.MessageId, ex.Message);
        }
    }

    private async Task ProcessAsync(QueueClient queue, QueueClient poison, QueueMessage message, CancellationToken ct)
    {
        var popReceipt = message.PopReceipt;
        using var renewCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var renew = RenewAsync(queue, message, r => popReceipt = r, renewCts.Token);
        bool ok;
        try
        {
            ok = await InvokeAsync(_host, _function.Name, message.MessageText, message, ct, _logger);
        }
        finally
        {
            renewCts.Cancel();
            try { await renew; } catch (OperationCanceledException) { }
        }
        if (ct.IsCancellationRequested && !ok) return; // host stopping: the message becomes visible again later
        try
        {
            if (ok)
            {
                await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None);
            }
            else if (message.DequeueCount >= _options.MaxDequeueCount)
            {
                _logger.LogWarning("Message has reached MaxDequeueCount of {Max}. Moving message to queue '{Poison}'.", _options.MaxDequeueCount, poison.Name);
                await poison.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None);
                await poison.SendMessageAsync(message.MessageText, cancellationToken: CancellationToken.None);
                await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None);
            }
            else
            {
                await queue.UpdateMessageAsync(message.MessageId, popReceipt, visibilityTimeout: _options.VisibilityTimeout, cancellationToken: CancellationToken.None);
            }
        }
        catch (RequestFailedException ex)
        {
            _logger.LogWarning("Completing message {Id} failed: {Error}", message.MessageId, ex.Message);
        }
    }

    private static async Task RenewAsync(QueueClient queue, QueueMessage message, Action<string> setReceipt, CancellationToken ct)
    {
        var receipt = message.PopReceipt;
        while (true)
        {
            await Task.Delay(ProcessingVisibility / 2, ct);
            var r = await queue.UpdateMessageAsync(message.MessageId, receipt, visibilityTimeout: ProcessingVisibility, cancellationToken: ct);
            receipt = r.Value.PopReceipt;
            setReceipt(receipt);
        }
    }

    /// <summary>Runs the function once with a message (from the queue, or from the admin API when
    /// <paramref name="message"/> is null); true when the invocation succeeded.</summary>
    internal static async Task<bool> InvokeAsync(LocalFunctionsHost host, string functionName, string text, QueueMessage? message, CancellationToken ct, ILogger logger)
    {
        var worker = await host.GetWorkerAsync(TimeSpan.FromSeconds(30), ct) ?? throw new WorkerUnavailableException("No worker is connected.");
        var function = LocalFunctionsHost.Find(worker, functionName) ?? throw new InvalidOperationException($"The function '{functionName}' is not loaded.");
        var invocationId = Guid.NewGuid().ToString();
        var request = Invocations.Create(function, invocationId, "Functions." + function.Name);
        request.InputData.Add(new ParameterBinding { Name = function.Trigger!.Name, Data = MessageData(function.Trigger!, text) });
        // Trigger metadata as the WebJobs queue trigger's binding data (strings as String, the
        // rest as JSON, as Azure's host converts them).
        request.TriggerMetadata["QueueTrigger"] = Invocations.Text(text);
        if (message is not null)
        {
            request.TriggerMetadata["Id"] = Invocations.Text(message.MessageId);
            request.TriggerMetadata["PopReceipt"] = Invocations.Text(message.PopReceipt);
            request.TriggerMetadata["DequeueCount"] = new TypedData { Json = message.DequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (message.InsertedOn is { } ins) request.TriggerMetadata["InsertionTime"] = Invocations.Time(ins);
            if (message.ExpiresOn is { } exp) request.TriggerMetadata["ExpirationTime"] = Invocations.Time(exp);
            if (message.NextVisibleOn is { } nv) request.TriggerMetadata["NextVisibleTime"] = Invocations.Time(nv);
        }
        else
        {
            var now = DateTimeOffset.UtcNow;
            request.TriggerMetadata["Id"] = Invocations.Text(Guid.NewGuid().ToString());
            request.TriggerMetadata["PopReceipt"] = Invocations.Text("");
            request.TriggerMetadata["DequeueCount"] = new TypedData { Json = "1" };
            request.TriggerMetadata["InsertionTime"] = Invocations.Time(now);
            request.TriggerMetadata["ExpirationTime"] = Invocations.Time(now.AddDays(7));
            request.TriggerMetadata["NextVisibleTime"] = Invocations.Time(now);
        }
        try
        {
            var response = await host.InvokeAsync(worker, request, function.Name, ct);
            if (Invocations.Succeeded(response))
            {
                logger.LogInformation("Executed 'Functions.{Function}' (Succeeded, Id={Id})", function.Name, invocationId);
                return true;
            }
            logger.LogError("Executed 'Functions.{Function}' (Failed, Id={Id}): {Error}", function.Name, invocationId, Invocations.Describe(response));
            return false;
        }
        catch (Exception ex) when (ex is WorkerUnavailableException or TimeoutException)
        {
            logger.LogError("Executed 'Functions.{Function}' (Failed, Id={Id}): {Error}", function.Name, invocationId, ex.Message);
            return false;
        }
    }

    internal static Task InvokeDirectAsync(LocalFunctionsHost host, string functionName, string input, ILogger logger) =>
        InvokeAsync(host, functionName, input, null, host.Stopping, logger);

    /// <summary>The message as the trigger parameter: a string when the binding asks for one
    /// (dataType string, as the worker declares for <c>string</c>), JSON when the text is a JSON
    /// object or array, else a string.</summary>
    private static TypedData MessageData(HostBinding trigger, string text)
    {
        if (string.Equals(trigger.DataType, "string", StringComparison.OrdinalIgnoreCase)) return Invocations.Text(text);
        if (string.Equals(trigger.DataType, "binary", StringComparison.OrdinalIgnoreCase)) return new TypedData { Bytes = Google.Protobuf.ByteString.CopyFromUtf8(text) };
        var t = text.TrimStart();
        if (t.StartsWith('{') || t.StartsWith('['))
        {
            try { using var _ = JsonDocument.Parse(text); return new TypedData { Json = text }; }
            catch (JsonException) { }
        }
        return Invocations.Text(text);
    }
}
