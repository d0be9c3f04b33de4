using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AccountFunctions.LocalHost.Tests.Support;

/// <summary>One in-memory Azurite (queues only) for the test run, on a free port; killed when the run ends.</summary>
public sealed class Azurite
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly Lazy<Task<Azurite>> Instance = new(StartAsync);

    private Azurite(int queuePort) => QueuePort = queuePort;

    public int QueuePort { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;";

    public static Task<Azurite> GetAsync() => Instance.Value;

    private static async Task<Azurite> StartAsync()
    {
        var bin = Path.Combine(TestEnv.RepoRoot, "node_modules", ".bin", "azurite-queue");
        if (!File.Exists(bin)) throw new InvalidOperationException("Azurite is not installed: run scripts/setup.sh.");
        int port = TestEnv.FreePort();
        var info = new ProcessStartInfo(bin, $"--silent --inMemoryPersistence --skipApiVersionCheck --loose --queuePort {port} --queueHost 127.0.0.1")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestEnv.RepoRoot,
        };
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"Azurite exited with code {process.ExitCode}.");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return new Azurite(port);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
