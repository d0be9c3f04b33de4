using AccountFunctions.Core.Storage;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// Creates the tables and queues once, as the worker starts. The start waits for it a bounded
/// time and goes on if storage is down: requests then answer 503 while every table call tries
/// the creation again (StorageContext's gate), so the app recovers without a restart.
/// </summary>
public sealed class StorageStartup(StorageContext storage, ILogger<StorageStartup> log) : IHostedService
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await storage.ReadyAsync().WaitAsync(Wait, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            log.LogWarning(e, "Tables and queues could not be created at start; every table call retries until they are");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
