using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

namespace AccountFunctions.Functions.Tests;

public sealed record SmtpReceived(string AuthUser, string Token, string MailFrom, IReadOnlyList<string> RcptTo, MimeMessage Message);
public sealed record SmtpAuthAttempt(string User, string Token, bool Accepted);

/// <summary>
/// A local SMTP server that takes mail only after <c>AUTH XOAUTH2</c> with an access token the
/// token endpoint says is good, and records what it receives. Just enough SMTP: EHLO advertising
/// AUTH XOAUTH2 (no STARTTLS: tests use Security None on loopback), AUTH XOAUTH2 with or without
/// an initial response, answering 235, or as Gmail does a 334 with a base64 JSON error and, after
/// the client's empty line, 535; MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT.
/// </summary>
public sealed class FakeXoauth2SmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<string, bool> _accepts;
    private readonly string _mailbox;
    private readonly Task _accepting;
    private readonly ConcurrentQueue<SmtpReceived> _received = new();
    private readonly ConcurrentQueue<SmtpAuthAttempt> _attempts = new();
    private int _connections;

    public FakeXoauth2SmtpServer(Func<string, bool> accepts, string mailbox)
    {
        _accepts = accepts;
        _mailbox = mailbox;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }
    public int Connections => Volatile.Read(ref _connections);
    public IReadOnlyCollection<SmtpReceived> Received => _received;
    public IReadOnlyCollection<SmtpAuthAttempt> AuthAttempts => _attempts;
    public int Refused => _attempts.Count(a => !a.Accepted);

    public IReadOnlyList<SmtpReceived> To(string address) =>
        _received.Where(r => r.RcptTo.Any(t => string.Equals(t, address, StringComparison.OrdinalIgnoreCase))).ToList();

    public async Task<IReadOnlyList<SmtpReceived>> WaitForAsync(string address, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            var got = To(address);
            if (got.Count >= count) return got;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{count} message(s) to {address} did not arrive; {To(address).Count} did.");
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            Interlocked.Increment(ref _connections);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try { await ServeAsync(client.GetStream()); }
                    catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
                }
            });
        }
    }

    private async Task ServeAsync(NetworkStream stream)
    {
        var ct = _stop.Token;
        using var reader = new StreamReader(stream, Encoding.ASCII);
        await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
        await writer.WriteLineAsync("220 127.0.0.1 ESMTP fake-xoauth2");
        string? user = null, token = null, from = null;
        var rcpt = new List<string>();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            var verb = line.Split(' ', 2)[0].ToUpperInvariant();
            var arg = line.Length > verb.Length ? line[(verb.Length + 1)..] : "";
            switch (verb)
            {
                case "EHLO":
                    await writer.WriteLineAsync("250-127.0.0.1 greets you");
                    await writer.WriteLineAsync("250 AUTH XOAUTH2");
                    break;
                case "HELO":
                    await writer.WriteLineAsync("250 127.0.0.1");
                    break;
                case "AUTH":
                {
                    var parts = arg.Split(' ', 2);
                    if (!parts[0].Equals("XOAUTH2", StringComparison.OrdinalIgnoreCase)) { await writer.WriteLineAsync("504 5.7.4 Unrecognized authentication type"); break; }
                    var initial = parts.Length > 1 ? parts[1] : null;
                    if (initial is null)
                    {
                        await writer.WriteLineAsync("334 ");
                        initial = await reader.ReadLineAsync(ct);
                    }
                    var (u, t) = ParseXoauth2(initial);
                    var accepted = u is not null && t is not null && u == _mailbox && _accepts(t);
                    _attempts.Enqueue(new SmtpAuthAttempt(u ?? "", t ?? "", accepted));
                    if (accepted)
                    {
                        (user, token) = (u, t);
                        await writer.WriteLineAsync("235 2.7.0 Accepted");
                        break;
                    }
                    // Gmail's way: the error as a base64 JSON challenge, then 535 once the client answers it.
                    var error = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}"""));
                    await writer.WriteLineAsync("334 " + error);
                    await reader.ReadLineAsync(ct);
                    await writer.WriteLineAsync("535-5.7.8 Username and Password not accepted. For more information, go to");
                    await writer.WriteLineAsync("535 5.7.8  https://support.google.com/mail/?p=BadCredentials");
                    break;
                }
                case "MAIL":
                    if (token is null) { await writer.WriteLineAsync("530 5.7.0 Authentication Required"); break; }
                    from = Address(arg);
                    rcpt.Clear();
                    await writer.WriteLineAsync("250 2.1.0 OK");
                    break;
                case "RCPT":
                    if (from is null) { await writer.WriteLineAsync("503 5.5.1 MAIL first"); break; }
                    rcpt.Add(Address(arg));
                    await writer.WriteLineAsync("250 2.1.5 OK");
                    break;
                case "DATA":
                {
                    if (rcpt.Count == 0) { await writer.WriteLineAsync("503 5.5.1 RCPT first"); break; }
                    await writer.WriteLineAsync("354 Go ahead");
                    var data = new StringBuilder();
                    while (await reader.ReadLineAsync(ct) is { } d && d != ".")
                        data.Append(d.StartsWith("..") ? d[1..] : d).Append("\r\n");
                    var message = await MimeMessage.LoadAsync(new MemoryStream(Encoding.ASCII.GetBytes(data.ToString())), ct);
                    _received.Enqueue(new SmtpReceived(user!, token!, from!, rcpt.ToArray(), message));
                    from = null;
                    rcpt.Clear();
                    await writer.WriteLineAsync("250 2.0.0 OK queued");
                    break;
                }
                case "RSET":
                    from = null;
                    rcpt.Clear();
                    await writer.WriteLineAsync("250 2.0.0 OK");
                    break;
                case "NOOP":
                    await writer.WriteLineAsync("250 2.0.0 OK");
                    break;
                case "QUIT":
                    await writer.WriteLineAsync("221 2.0.0 closing connection");
                    return;
                default:
                    await writer.WriteLineAsync("502 5.5.1 Unrecognized command");
                    break;
            }
        }
    }

    /// <summary>base64 of <c>user={user}\x01auth=Bearer {token}\x01\x01</c>.</summary>
    private static (string? User, string? Token) ParseXoauth2(string? base64)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64 ?? ""));
            if (!text.EndsWith("\x01\x01")) return (null, null);
            var fields = text[..^2].Split('\x01');
            var u = fields.FirstOrDefault(f => f.StartsWith("user="))?["user=".Length..];
            var t = fields.FirstOrDefault(f => f.StartsWith("auth=Bearer "))?["auth=Bearer ".Length..];
            return (u, t);
        }
        catch (FormatException) { return (null, null); }
    }

    private static string Address(string arg)
    {
        var start = arg.IndexOf('<');
        var end = arg.IndexOf('>', start + 1);
        return start >= 0 && end > start ? arg[(start + 1)..end] : arg;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
