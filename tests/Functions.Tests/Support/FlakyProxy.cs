using System.Net;
using System.Net.Sockets;

namespace AccountFunctions.Functions.Tests.Support;

/// <summary>
/// A TCP proxy in front of a port that a test can take down (listener closed, every open connection
/// reset: the app sees connection refused, as when storage is unreachable) and bring back on the
/// same port. The storage behind it keeps its data, as Azure Storage does through a network outage.
/// </summary>
public sealed class FlakyProxy : IAsyncDisposable
{
    private readonly int _target;
    private readonly List<TcpClient> _open = [];
    private TcpListener? _listener;

    public FlakyProxy(int target)
    {
        _target = target;
        Port = Repo.FreePort();
        Up();
    }

    public int Port { get; }

    public void Up()
    {
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        _ = AcceptAsync(listener);
    }

    public void Down()
    {
        _listener?.Stop();
        _listener = null;
        lock (_open)
        {
            foreach (var c in _open)
            {
                try { c.Client.LingerState = new LingerOption(true, 0); } catch (ObjectDisposedException) { } // reset, not a clean close
                c.Dispose();
            }
            _open.Clear();
        }
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (true)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = PipeAsync(client);
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        var server = new TcpClient();
        lock (_open) { _open.Add(client); _open.Add(server); }
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target);
            using var cts = new CancellationTokenSource();
            var a = client.GetStream().CopyToAsync(server.GetStream(), cts.Token);
            var b = server.GetStream().CopyToAsync(client.GetStream(), cts.Token);
            await Task.WhenAny(a, b);
            await cts.CancelAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
        finally
        {
            lock (_open) { _open.Remove(client); _open.Remove(server); }
            client.Dispose();
            server.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Down();
        return ValueTask.CompletedTask;
    }
}
