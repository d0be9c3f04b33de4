using System.Diagnostics;

namespace AccountFunctions.Functions.Tests.Support;

/// <summary>One Azurite for the whole test run, in memory, on free ports; stopped when the run ends.</summary>
public sealed class Azurite
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly Lazy<Task<Azurite>> Instance = new(StartAsync);
    private readonly Process _process;

    private Azurite(Process process, int queuePort, int tablePort)
    {
        _process = process;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public int QueuePort { get; }
    public int TablePort { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;";

    public static Task<Azurite> GetAsync() => Instance.Value;

    private static async Task<Azurite> StartAsync()
    {
        int blob = Repo.FreePort(), queue = Repo.FreePort(), table = Repo.FreePort();
        var process = Repo.StartNode("azurite",
            $"--silent --inMemoryPersistence --skipApiVersionCheck --loose --disableProductStyleUrl " +
            $"--blobPort {blob} --queuePort {queue} --tablePort {table} --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1");
        await Repo.WaitForPortAsync(queue, process, "Azurite");
        await Repo.WaitForPortAsync(table, process, "Azurite");
        return new Azurite(process, queue, table);
    }
}
