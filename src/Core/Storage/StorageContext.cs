using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// The storage account: tables and queues, named with an optional prefix. Tables and queues are
/// created once, when the worker starts (<see cref="ReadyAsync"/>, called by the app's startup;
/// Azurite starts empty; in Azure, infra creates them and this is a no-op). Until that has
/// succeeded, every table call first tries it again (<see cref="ReadyGate"/>), so an app started
/// during a storage outage recovers without a restart and no flow has to ask.
/// </summary>
public sealed class StorageContext
{
    private readonly AsyncOnce<bool> _ready;
    private readonly ReadyGate _gate;

    /// <param name="policy">An extra pipeline policy on every storage call (the benchmark counts calls with it).</param>
    public StorageContext(string connectionString, StorageOptions options, HttpPipelinePolicy? policy = null)
        : this(o => new TableServiceClient(connectionString, o), o => new QueueServiceClient(connectionString, o), options, policy)
    {
    }

    /// <summary>
    /// Service clients made elsewhere (the app builds them from AzureWebJobsStorage: a connection
    /// string or a managed identity), from the options this class sets: the retry policy below,
    /// base64 queue messages (what the queue trigger expects) and the call recording.
    /// </summary>
    public StorageContext(Func<TableClientOptions, TableServiceClient> createTables, Func<QueueClientOptions, QueueServiceClient> createQueues,
        StorageOptions options, HttpPipelinePolicy? policy = null)
    {
        var prefix = options.Prefix.ToLowerInvariant();
        var tableOptions = new TableClientOptions();
        ConfigureRetry(tableOptions);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        ConfigureRetry(queueOptions);
        Calls = new StorageCalls(prefix);
        _gate = new ReadyGate(() => ReadyAsync());
        // On table calls only: every flow touches a table before it enqueues, so the queues exist by then.
        tableOptions.AddPolicy(_gate, HttpPipelinePosition.PerCall);
        tableOptions.AddPolicy(Calls, HttpPipelinePosition.PerCall);
        queueOptions.AddPolicy(Calls, HttpPipelinePosition.PerCall);
        if (policy is not null)
        {
            tableOptions.AddPolicy(policy, HttpPipelinePosition.PerCall);
            queueOptions.AddPolicy(policy, HttpPipelinePosition.PerCall);
        }
        var tables = createTables(tableOptions);
        var queues = createQueues(queueOptions);
        TableService = tables;
        QueueService = queues;

        Accounts = tables.GetTableClient(prefix + "accounts");
        Identifiers = tables.GetTableClient(prefix + "identifiers");
        Tokens = tables.GetTableClient(prefix + "tokens");
        Keys = tables.GetTableClient(prefix + "keys");
        Limits = tables.GetTableClient(prefix + "limits");
        Due = tables.GetTableClient(prefix + "due");
        Audit = tables.GetTableClient(prefix + "audit");
        _ready = new AsyncOnce<bool>(CreateAsync);
        // The queue trigger names the same queue (%EmailOutboxQueue%); the host adds -poison.
        Outbox = queues.GetQueueClient(options.OutboxQueue);
        OutboxPoison = queues.GetQueueClient(options.OutboxQueue + "-poison");
    }

    /// <summary>The account's table endpoint (its <c>Uri</c> and <c>AccountName</c> say where the data goes).</summary>
    public TableServiceClient TableService { get; }
    public QueueServiceClient QueueService { get; }

    /// <summary>Records the calls made inside a scope (tests compare the storage work of two paths).</summary>
    public StorageCalls Calls { get; }

    public TableClient Accounts { get; }
    public TableClient Identifiers { get; }
    public TableClient Tokens { get; }
    public TableClient Keys { get; }
    public TableClient Limits { get; }
    public TableClient Due { get; }
    /// <summary>The audit trail (see AuditTable).</summary>
    public TableClient Audit { get; }
    public QueueClient Outbox { get; }
    public QueueClient OutboxPoison { get; }

    public IEnumerable<TableClient> AllTables => [Accounts, Identifiers, Tokens, Keys, Limits, Due, Audit];

    /// <summary>
    /// Completes once tables and queues exist; retried on the next call if it failed. The worker
    /// calls it at start; flows never need to.
    /// </summary>
    public Task ReadyAsync() => _ready.Value;

    private Task<bool> CreateAsync()
    {
        // Not inside the caller's context: its calls are not the request's (StorageCalls scopes).
        using (ExecutionContext.SuppressFlow())
            return Task.Run(async () =>
            {
                _gate.Bypass();
                await Task.WhenAll(AllTables.Select(t => t.CreateIfNotExistsAsync())
                    .Concat<Task>([Outbox.CreateIfNotExistsAsync(), OutboxPoison.CreateIfNotExistsAsync()]));
                _gate.Open();
                return true;
            });
    }

    // A request should fail fast (503) during a storage outage rather than hang on long retries.
    private static void ConfigureRetry(ClientOptions options)
    {
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
    }
}

/// <summary>
/// Holds every table call until tables and queues exist. Once they do, a volatile read per call;
/// the creation's own calls pass (<see cref="Bypass"/>).
/// </summary>
internal sealed class ReadyGate(Func<Task> ready) : HttpPipelinePolicy
{
    private readonly AsyncLocal<bool> _bypass = new();
    private volatile bool _open;

    public void Bypass() => _bypass.Value = true;
    public void Open() => _open = true;

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (!_open && !_bypass.Value) ready().GetAwaiter().GetResult();
        ProcessNext(message, pipeline);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (!_open && !_bypass.Value) await ready();
        await ProcessNextAsync(message, pipeline);
    }
}

/// <summary>Table responses that are outcomes, not failures.</summary>
public static class TableResults
{
    public static bool IsConflict(this RequestFailedException e) => e.Status == 409;
    public static bool IsPreconditionFailed(this RequestFailedException e) => e.Status == 412;
    public static bool IsNotFound(this RequestFailedException e) => e.Status == 404;

    public static async Task<T?> GetOrNullAsync<T>(this TableClient table, string pk, string rk, CancellationToken ct = default)
        where T : class, ITableEntity, new()
    {
        var response = await table.GetEntityIfExistsAsync<T>(pk, rk, cancellationToken: ct);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Inserts; false when the row already exists (the uniqueness primitive).</summary>
    public static async Task<bool> TryAddAsync(this TableClient table, ITableEntity entity, CancellationToken ct = default)
    {
        try
        {
            await table.AddEntityAsync(entity, ct);
            return true;
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            return false;
        }
    }

    /// <summary>Replaces the row only if it still has the ETag that was read; sets the new ETag.</summary>
    public static async Task<bool> TryReplaceAsync(this TableClient table, ITableEntity entity, CancellationToken ct = default)
    {
        if (entity.ETag == default) throw new InvalidOperationException("An update needs the ETag it read.");
        try
        {
            var response = await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, ct);
            entity.ETag = response.Headers.ETag ?? default;
            return true;
        }
        catch (RequestFailedException e) when (e.IsPreconditionFailed() || e.IsNotFound())
        {
            return false;
        }
    }

    /// <summary>
    /// Deletes the row only if it still has the ETag that was read. The row is first claimed with
    /// a conditional update, then deleted with the ETag that update returned, because Azurite
    /// answers success to a delete of a row that is already gone. Under load Azurite can still let
    /// two callers through; where exactly one winner matters (tokens, codes, invites) use
    /// <see cref="TryConsumeAsync"/>.
    /// </summary>
    public static async Task<bool> TryDeleteAsync(this TableClient table, ITableEntity entity, CancellationToken ct = default)
    {
        if (entity.ETag == default) throw new InvalidOperationException("A conditional delete needs the ETag it read.");
        ETag claimed;
        try
        {
            var response = await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Merge, ct);
            claimed = response.Headers.ETag ?? ETag.All;
        }
        catch (RequestFailedException e) when (e.IsPreconditionFailed() || e.IsNotFound())
        {
            return false;
        }
        try
        {
            await table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, claimed, ct);
        }
        catch (RequestFailedException e) when (e.IsNotFound())
        {
        }
        catch (RequestFailedException e) when (e.IsPreconditionFailed())
        {
            // Someone else's claim landed after ours (Azurite checks If-Match and writes in two
            // steps, so two claims can both pass under load); the one whose delete matches wins.
            return false;
        }
        return true;
    }

    /// <summary>Row keys at or after this mark hold consumption markers, not data (see TryConsumeAsync).</summary>
    public const string MarkerPrefix = "~used-";

    /// <summary>
    /// Single use: inserting a marker row (PK of the row, RK <c>~used-{version}</c>) is the lock:
    /// of any number of racers exactly one inserts it (AddEntity is atomic on Azure and on Azurite,
    /// where conditional deletes and updates are not reliably so under load). Then the row itself
    /// is deleted if it is still the version that was read. The marker keeps a racer that read the
    /// row before the delete from using it again.
    /// </summary>
    public static async Task<bool> TryConsumeAsync(this TableClient table, ITableEntity entity, string version, CancellationToken ct = default)
    {
        if (!await table.TryAddAsync(new TableEntity(entity.PartitionKey, MarkerPrefix + version) { ["ConsumedAt"] = DateTimeOffset.UtcNow }, ct))
            return false;
        try
        {
            await table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, entity.ETag, ct);
        }
        catch (RequestFailedException e) when (e.IsNotFound() || e.IsPreconditionFailed())
        {
            // Changed since it was read (a wrong guess counted, or a new code issued): the marker
            // already makes the consumed version unusable, and a newer version must survive.
        }
        return true;
    }

    /// <summary>Removes a row whatever its state (cleanup of rows nobody else writes).</summary>
    public static async Task DeleteIfExistsAsync(this TableClient table, string pk, string rk, CancellationToken ct = default)
    {
        try
        {
            await table.DeleteEntityAsync(pk, rk, ETag.All, ct);
        }
        catch (RequestFailedException e) when (e.IsNotFound())
        {
        }
    }

    /// <summary>A transaction in one partition; false when a precondition failed (412/409/404).</summary>
    public static async Task<bool> TrySubmitAsync(this TableClient table, IReadOnlyList<TableTransactionAction> actions, CancellationToken ct = default)
    {
        try
        {
            var response = await table.SubmitTransactionAsync(actions, ct);
            for (var i = 0; i < actions.Count; i++)
            {
                var etag = response.Value[i].Headers.ETag;
                if (etag is not null && actions[i].ActionType != TableTransactionActionType.Delete)
                    actions[i].Entity.ETag = etag.Value;
            }
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412 or 404)
        {
            return false;
        }
    }
}
