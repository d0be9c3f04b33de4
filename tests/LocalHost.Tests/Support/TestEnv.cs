using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace AccountFunctions.LocalHost.Tests.Support;

public static class TestEnv
{
    public static string RepoRoot { get; } = FindRoot();

    public static string SampleWorkerDir { get; } = Metadata("SampleWorkerDir");
    public static string LocalHostDll { get; } = Metadata("LocalHostDll");

    private static string Metadata(string key) =>
        typeof(TestEnv).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test with <paramref name="what"/> after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (await condition()) return;
            if (sw.Elapsed > timeout) Assert.Fail($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            await Task.Delay(100);
        }
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, what);

    public static bool ProcessAlive(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            // A zombie still has /proc/<pid>; treat it as gone (it runs nothing).
            var stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat)) return false;
            try
            {
                var text = File.ReadAllText(stat);
                var state = text[(text.LastIndexOf(')') + 2)..].Split(' ')[0];
                return state != "Z" && state != "X";
            }
            catch (IOException) { return false; }
        }
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>Processes whose command line holds <paramref name="text"/> (Linux /proc).</summary>
    public static List<int> ProcessesWith(string text)
    {
        var result = new List<int>();
        if (!OperatingSystem.IsLinux()) return result;
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains(text, StringComparison.Ordinal) && ProcessAlive(pid)) result.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return result;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AccountFunctions.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root.");
    }
}
