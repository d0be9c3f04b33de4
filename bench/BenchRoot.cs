namespace AccountFunctions.Bench;

/// <summary>The repository the bench runs in (it reads the app's build output from src/Functions/bin).</summary>
public static class BenchRoot
{
    public static readonly string Path = Find();

    private static string Find()
    {
        var root = Directory.GetCurrentDirectory();
        while (!File.Exists(System.IO.Path.Combine(root, "AccountFunctions.sln")))
            root = System.IO.Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Run from inside the repository.");
        return root;
    }

    /// <summary>The app's build output beside this bench's configuration (Release or Debug).</summary>
    public static string AppDirectory => Functions.Tests.Support.InProcessWorker.AppDirectory(Path);
}
