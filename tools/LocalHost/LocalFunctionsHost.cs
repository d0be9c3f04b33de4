using System.Net;
using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AccountFunctions.LocalHost;

/// <summary>A small local Azure Functions host: serves HTTP triggers, polls queue triggers, runs
/// timer triggers and drives one .NET isolated worker over the language-worker gRPC protocol.</summary>
public sealed class LocalFunctionsHost : IAsyncDisposable
{
    /// <summary>The host version told to the worker (a 4.x host, as the worker expects).</summary>
    public const string HostVersion = "4.1040.0.0";

    private readonly LocalHostOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _background = [];
    private WebApplication? _grpcApp;
    private WebApplication? _httpApp;
    private ActiveWorker? _active;
    private TaskCompletionSource<ActiveWorker> _ready = NewReady();
    private WorkerProcess? _process;
    private Task? _superviseTask;
    private bool _listenersStarted;
    private int _stopped;

    private LocalFunctionsHost(LocalHostOptions options, AppFiles files, AppSettings settings)
    {
        _options = options;
        Files = files;
        Settings = settings;
        _loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("Host.LocalHost");
        MasterKey = options.MasterKey ?? NewKey();
        FunctionKey = options.FunctionKey ?? NewKey();
        WorkerId = Guid.NewGuid().ToString();
        RequestId = Guid.NewGuid().ToString();
        Forwarder = new HttpMessageInvoker(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        });
    }

    public Uri BaseAddress { get; private set; } = null!;
    public Uri GrpcAddress { get; private set; } = null!;
    public string WorkerId { get; }
    public string RequestId { get; }
    public string MasterKey { get; }
    public string FunctionKey { get; }

    /// <summary>The functions as loaded by the current (or last) worker.</summary>
    public IReadOnlyList<HostFunction> Functions => _active?.Functions ?? _lastFunctions;

    /// <summary>Added: pid of the launched worker process (null when none runs or LaunchWorker is false).</summary>
    public int? WorkerProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Added: how many times a worker completed the handshake (1 after start; +1 per restart or reconnect).</summary>
    public int WorkerGeneration { get; private set; }

    /// <summary>Added: for the current worker, the time from starting its process (or, when
    /// launched elsewhere, from its StartStream) to every function loaded.</summary>
    public TimeSpan? WorkerStartupDuration { get; private set; }

    /// <summary>Added: the merged app settings the host and the worker use.</summary>
    public IReadOnlyDictionary<string, string> AppSettings => Settings.Values;

    internal AppFiles Files { get; }
    internal AppSettings Settings { get; }
    internal HttpMessageInvoker Forwarder { get; }
    internal ILoggerFactory LoggerFactory => _loggerFactory;
    internal CancellationToken Stopping => _stopping.Token;
    private IReadOnlyList<HostFunction> _lastFunctions = [];

    public static async Task<LocalFunctionsHost> StartAsync(LocalHostOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = LocalHost.AppSettings.Load(options);
        var files = AppFiles.Load(options.AppDirectory, settings.Values);
        var host = new LocalFunctionsHost(options, files, settings);
        try
        {
            await host.StartCoreAsync(ct);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken ct)
    {
        // gRPC: h2c on loopback, for the worker only.
        var grpcBuilder = WebApplication.CreateSlimBuilder();
        grpcBuilder.Logging.ClearProviders();
        grpcBuilder.Services.AddSingleton(_loggerFactory);
        grpcBuilder.Services.AddSingleton(this);
        grpcBuilder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = int.MaxValue;
            o.MaxSendMessageSize = int.MaxValue;
        });
        grpcBuilder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, _options.GrpcPort, l => l.Protocols = HttpProtocols.Http2);
            k.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
        });
        _grpcApp = grpcBuilder.Build();
        _grpcApp.MapGrpcService<RpcService>();
        await _grpcApp.StartAsync(ct);
        GrpcAddress = new Uri($"http://127.0.0.1:{BoundPort(_grpcApp)}/");

        // HTTP: the public side, on 127.0.0.1.
        var httpBuilder = WebApplication.CreateSlimBuilder();
        httpBuilder.Logging.ClearProviders();
        httpBuilder.Services.AddSingleton(_loggerFactory);
        httpBuilder.Services.AddRouting();
        httpBuilder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, _options.HttpPort, l => l.Protocols = HttpProtocols.Http1);
            k.Limits.MaxRequestBodySize = 100L * 1024 * 1024; // Azure's default request size limit (100 MB)
            k.AddServerHeader = false;
        });
        _httpApp = httpBuilder.Build();
        var front = new HttpFrontEnd(this, _httpApp.Services);
        _httpApp.Run(front.HandleAsync);
        await _httpApp.StartAsync(ct);
        BaseAddress = new Uri($"http://127.0.0.1:{BoundPort(_httpApp)}");
        _logger.LogInformation("Listening on {Http} (HTTP) and {Grpc} (gRPC); worker id {WorkerId}", BaseAddress, GrpcAddress, WorkerId);

        if (_options.LaunchWorker)
        {
            _superviseTask = Task.Run(SuperviseWorkerAsync, CancellationToken.None);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
            await WaitForWorkerCoreAsync(_options.StartTimeout, linked.Token);
        }
    }

    private static int BoundPort(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)).Port;
    }

    /// <summary>Completes when a worker has connected and every function is loaded.</summary>
    public Task WaitForWorkerAsync(TimeSpan timeout) => WaitForWorkerCoreAsync(timeout, _stopping.Token);

    private async Task WaitForWorkerCoreAsync(TimeSpan timeout, CancellationToken ct)
    {
        Task<ActiveWorker> ready;
        lock (_gate) ready = _ready.Task;
        try
        {
            await ready.WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No worker connected and loaded its functions within {timeout}.");
        }
    }

    /// <summary>The connected worker, waiting up to <paramref name="wait"/> for one; null when none came.</summary>
    internal async Task<ActiveWorker?> GetWorkerAsync(TimeSpan wait, CancellationToken ct)
    {
        Task<ActiveWorker> ready;
        lock (_gate)
        {
            if (_active is { Channel.IsClosed: false } a) return a;
            ready = _ready.Task;
        }
        try
        {
            return await ready.WaitAsync(wait, ct);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    internal ActiveWorker? Current => _active is { Channel.IsClosed: false } a ? a : null;

    // ---- the worker's stream ----

    internal async Task RunEventStreamAsync(IAsyncStreamReader<StreamingMessage> requests, IServerStreamWriter<StreamingMessage> responses, ServerCallContext context)
    {
        var ct = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopping.Token).Token;
        if (!await requests.MoveNext(ct)) return;
        var first = requests.Current;
        if (first.ContentCase != StreamingMessage.ContentOneofCase.StartStream || first.StartStream.WorkerId != WorkerId)
        {
            _logger.LogWarning("Refused a worker stream: expected StartStream from worker {Expected}, got {Case} {Id}", WorkerId, first.ContentCase, first.StartStream?.WorkerId);
            return;
        }
        if (Current is not null)
        {
            _logger.LogWarning("Refused a second stream from worker {Id}: one is already connected", WorkerId);
            return;
        }

        var channel = new WorkerChannel(WorkerId, _loggerFactory.CreateLogger("Host.LocalHost.Channel")) { ProcessId = _process?.Id };
        var writeLoop = channel.WriteLoopAsync(responses, ct);
        var handshake = Task.Run(() => HandshakeAsync(channel, ct), CancellationToken.None);
        try
        {
            while (await requests.MoveNext(ct))
                Dispatch(channel, requests.Current);
        }
        catch (OperationCanceledException) { }
        catch (IOException ex) { _logger.LogDebug(ex, "Worker stream ended"); }
        catch (Grpc.Core.RpcException ex) { _logger.LogDebug(ex, "Worker stream ended"); }
        finally
        {
            channel.Close();
            Deactivate(channel);
            try { await handshake; } catch (Exception ex) when (ex is not OutOfMemoryException) { }
            await writeLoop;
        }
    }

    private void Dispatch(WorkerChannel channel, StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.RpcLog:
                LogFromWorker(channel, message.RpcLog);
                break;
            case StreamingMessage.ContentOneofCase.WorkerInitResponse:
                channel.Complete(WorkerChannel.InitKey, message);
                break;
            case StreamingMessage.ContentOneofCase.FunctionMetadataResponse:
                channel.Complete(WorkerChannel.MetadataKey, message);
                break;
            case StreamingMessage.ContentOneofCase.FunctionLoadResponse:
                channel.Complete(WorkerChannel.LoadKey(message.FunctionLoadResponse.FunctionId), message);
                break;
            case StreamingMessage.ContentOneofCase.FunctionLoadResponseCollection:
                foreach (var r in message.FunctionLoadResponseCollection.FunctionLoadResponses)
                    channel.Complete(WorkerChannel.LoadKey(r.FunctionId), new StreamingMessage { FunctionLoadResponse = r });
                break;
            case StreamingMessage.ContentOneofCase.InvocationResponse:
                if (!channel.Complete(WorkerChannel.InvocationKey(message.InvocationResponse.InvocationId), message))
                    _logger.LogDebug("An InvocationResponse for {Id} came with nobody waiting", message.InvocationResponse.InvocationId);
                channel.InvocationFunctions.TryRemove(message.InvocationResponse.InvocationId, out _);
                break;
            case StreamingMessage.ContentOneofCase.WorkerStatusResponse:
                channel.Complete("status", message);
                break;
            default:
                _logger.LogDebug("Ignored a {Case} from the worker", message.ContentCase);
                break;
        }
    }

    private void LogFromWorker(WorkerChannel channel, RpcLog log)
    {
        string category;
        if (!string.IsNullOrEmpty(log.InvocationId) && channel.InvocationFunctions.TryGetValue(log.InvocationId, out var fn))
            category = log.LogCategory == RpcLog.Types.RpcLogCategory.User ? $"Function.{fn}.User" : $"Function.{fn}";
        else
            category = string.IsNullOrEmpty(log.Category) ? "Worker" : "Worker." + log.Category;
        var level = log.Level switch
        {
            RpcLog.Types.Level.Trace => LogLevel.Trace,
            RpcLog.Types.Level.Debug => LogLevel.Debug,
            RpcLog.Types.Level.Information => LogLevel.Information,
            RpcLog.Types.Level.Warning => LogLevel.Warning,
            RpcLog.Types.Level.Error => LogLevel.Error,
            RpcLog.Types.Level.Critical => LogLevel.Critical,
            _ => LogLevel.None,
        };
        if (level == LogLevel.None) return;
        var logger = _loggerFactory.CreateLogger(category);
        if (log.Exception is { } ex && !string.IsNullOrEmpty(ex.Message))
            logger.Log(level, "{Message} {Exception}", log.Message, ex.Message + (string.IsNullOrEmpty(ex.StackTrace) ? "" : "\n" + ex.StackTrace));
        else
            logger.Log(level, "{Message}", log.Message);
    }

    private async Task HandshakeAsync(WorkerChannel channel, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var init = new WorkerInitRequest
            {
                HostVersion = HostVersion,
                FunctionAppDirectory = Files.AppDirectory,
                WorkerDirectory = Files.AppDirectory,
            };
            init.Capabilities["HandlesWorkerTerminateMessage"] = "true";
            var initResponse = (await channel.RequestAsync(WorkerChannel.InitKey, new StreamingMessage { RequestId = RequestId, WorkerInitRequest = init }, TimeSpan.FromSeconds(30), ct)).WorkerInitResponse;
            if (initResponse.Result?.Status != StatusResult.Types.Status.Success)
                throw new InvalidOperationException("The worker failed to initialise: " + initResponse.Result?.Exception?.Message);
            channel.Capabilities = new Dictionary<string, string>(initResponse.Capabilities);
            if (channel.Capabilities.TryGetValue("HttpUri", out var httpUri) && Uri.TryCreate(httpUri, UriKind.Absolute, out var uri))
                channel.HttpUri = uri;
            _logger.LogDebug("Worker {Version} capabilities: {Capabilities}", initResponse.WorkerVersion, string.Join(", ", channel.Capabilities.Select(c => c.Key + "=" + c.Value)));

            IReadOnlyList<RawFunction> raw;
            if (Files.WorkerIndexing)
            {
                var meta = (await channel.RequestAsync(WorkerChannel.MetadataKey, new StreamingMessage
                {
                    RequestId = RequestId,
                    FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = Files.AppDirectory },
                }, TimeSpan.FromSeconds(60), ct)).FunctionMetadataResponse;
                if (meta.UseDefaultMetadataIndexing)
                {
                    _logger.LogInformation("The worker asked for default indexing: reading functions.metadata");
                    raw = Files.ReadFunctionsMetadata();
                }
                else
                {
                    if (meta.Result?.Status == StatusResult.Types.Status.Failure)
                        throw new InvalidOperationException("The worker failed to index the functions: " + meta.Result.Exception?.Message);
                    raw = meta.FunctionMetadataResults.Select(m => new RawFunction(m.Name, m.FunctionId, m.ScriptFile, m.EntryPoint, m.Language, m.RawBindings.ToList())).ToList();
                }
            }
            else
            {
                raw = Files.ReadFunctionsMetadata();
            }

            var functions = FunctionCatalog.Build(raw, Settings, _logger);
            var loaded = new List<HostFunction>();
            var loads = functions.Select(async f =>
            {
                var load = new FunctionLoadRequest { FunctionId = f.FunctionId, Metadata = ToRpcMetadata(f) };
                var response = (await channel.RequestAsync(WorkerChannel.LoadKey(f.FunctionId), new StreamingMessage { RequestId = RequestId, FunctionLoadRequest = load }, TimeSpan.FromSeconds(60), ct)).FunctionLoadResponse;
                if (response.Result?.Status == StatusResult.Types.Status.Success) return f;
                _logger.LogError("The worker failed to load '{Function}': {Error}", f.Name, response.Result?.Exception?.Message);
                return null;
            }).ToList();
            foreach (var f in await Task.WhenAll(loads)) if (f is not null) loaded.Add(f);
            loaded.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));

            if (channel.HttpUri is { } workerHttp) await WaitForPortAsync(workerHttp, TimeSpan.FromSeconds(15), ct);
            var active = new ActiveWorker(channel, loaded, RouteTable.Build(loaded, Files.RoutePrefix, _logger));
            var since = _process is { } wp && wp.Id == channel.ProcessId ? DateTime.UtcNow - wp.StartedAtUtc : started.Elapsed;
            WorkerStartupDuration = since;
            _logger.LogInformation("Worker ready in {Ms} ms: {Count} functions loaded ({Names})", started.ElapsedMilliseconds, loaded.Count, string.Join(", ", loaded.Select(f => f.Name)));
            Activate(active);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (!channel.IsClosed && !ct.IsCancellationRequested)
            {
                _logger.LogError(ex, "The handshake with the worker failed");
                channel.Close();
            }
        }
    }

    /// <summary>The worker announces HttpUri before its Kestrel listens; ready means it accepts connections.</summary>
    private async Task WaitForPortAsync(Uri uri, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(uri.Host, uri.Port, ct);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, ct);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                _logger.LogWarning("The worker's HTTP endpoint {Uri} does not accept connections yet: {Error}", uri, ex.Message);
                return;
            }
        }
    }

    private RpcFunctionMetadata ToRpcMetadata(HostFunction f)
    {
        var m = new RpcFunctionMetadata
        {
            Name = f.Name,
            FunctionId = f.FunctionId,
            Directory = Files.AppDirectory,
            ScriptFile = f.ScriptFile,
            EntryPoint = f.EntryPoint,
            IsProxy = false,
            Language = f.Language ?? "dotnet-isolated",
        };
        m.RawBindings.AddRange(f.RawBindings);
        foreach (var b in f.Bindings)
        {
            var info = new BindingInfo
            {
                Type = b.Type,
                Direction = b.Direction switch { "out" => BindingInfo.Types.Direction.Out, "inout" => BindingInfo.Types.Direction.Inout, _ => BindingInfo.Types.Direction.In },
                DataType = b.DataType?.ToLowerInvariant() switch
                {
                    "string" => BindingInfo.Types.DataType.String,
                    "binary" => BindingInfo.Types.DataType.Binary,
                    "stream" => BindingInfo.Types.DataType.Stream,
                    _ => BindingInfo.Types.DataType.Undefined,
                },
            };
            m.Bindings[b.Name] = info;
        }
        return m;
    }

    private void Activate(ActiveWorker active)
    {
        TaskCompletionSource<ActiveWorker> ready;
        lock (_gate)
        {
            if (active.Channel.IsClosed) return;
            _active = active;
            _lastFunctions = active.Functions;
            WorkerGeneration++;
            ready = _ready;
        }
        ready.TrySetResult(active);
        StartListenersOnce(active.Functions);
    }

    private void Deactivate(WorkerChannel channel)
    {
        lock (_gate)
        {
            if (_active?.Channel != channel) return;
            _active = null;
            if (_ready.Task.IsCompleted) _ready = NewReady();
        }
        if (_stopped == 0) _logger.LogWarning("The worker disconnected; HTTP requests wait up to 10 s for a worker, then get 503");
    }

    private void StartListenersOnce(IReadOnlyList<HostFunction> functions)
    {
        lock (_gate)
        {
            if (_listenersStarted || _stopped != 0) return;
            _listenersStarted = true;
        }
        foreach (var f in functions)
        {
            var trigger = f.Trigger!;
            if (f.Disabled)
            {
                _logger.LogInformation("Function '{Function}' is disabled", f.Name);
                continue;
            }
            if (trigger.Type.Equals("queueTrigger", StringComparison.OrdinalIgnoreCase))
            {
                var listener = new QueueListener(this, f, _loggerFactory.CreateLogger($"Host.Triggers.Queue.{f.Name}"));
                lock (_gate) _background.Add(Task.Run(() => listener.RunAsync(_stopping.Token)));
            }
            else if (trigger.Type.Equals("timerTrigger", StringComparison.OrdinalIgnoreCase))
            {
                var listener = new TimerListener(this, f, _loggerFactory.CreateLogger($"Host.Triggers.Timer.{f.Name}"));
                lock (_gate) _background.Add(Task.Run(() => listener.RunAsync(_stopping.Token)));
            }
            else if (!f.IsHttp)
            {
                _logger.LogWarning("The trigger {Type} of '{Function}' is not supported by the local host; it runs only through the admin API", trigger.Type, f.Name);
            }
        }
    }

    /// <summary>Sends an invocation to the current worker and waits for its answer.</summary>
    internal async Task<InvocationResponse> InvokeAsync(ActiveWorker worker, InvocationRequest request, string functionName, CancellationToken ct)
    {
        worker.Channel.InvocationFunctions[request.InvocationId] = functionName;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        var limit = Files.FunctionTimeout ?? TimeSpan.FromMinutes(30);
        try
        {
            var message = await worker.Channel.RequestAsync(WorkerChannel.InvocationKey(request.InvocationId), new StreamingMessage { RequestId = RequestId, InvocationRequest = request }, limit, timeout.Token);
            var response = message.InvocationResponse;
            WarnAboutOutputs(Find(worker, functionName), response);
            return response;
        }
        catch (TimeoutException)
        {
            worker.Channel.InvocationFunctions.TryRemove(request.InvocationId, out _);
            _logger.LogError("Timeout value of {Limit} exceeded by function '{Function}' (Id: '{Id}')", limit, functionName, request.InvocationId);
            try { worker.Channel.Send(new StreamingMessage { InvocationCancel = new InvocationCancel { InvocationId = request.InvocationId } }); } catch (WorkerUnavailableException) { }
            throw;
        }
    }

    /// <summary>Output bindings other than HTTP are not written by this host: say so when a function returns some.</summary>
    private void WarnAboutOutputs(HostFunction? function, InvocationResponse response)
    {
        if (function is null) return;
        var names = response.OutputData.Select(o => o.Name).ToList();
        if (response.ReturnValue is { DataCase: not TypedData.DataOneofCase.None }) names.Add("$return");
        var ignored = names.Where(n => function.Bindings.FirstOrDefault(b => b.Name == n) is not { } b || !b.Type.Equals("http", StringComparison.OrdinalIgnoreCase)).ToList();
        if (ignored.Count > 0)
            _logger.LogWarning("Function '{Function}' returned output bindings ({Names}); the local host does not write output bindings", function.Name, string.Join(", ", ignored));
    }

    /// <summary>Finds a function of the current worker by name (case-insensitive).</summary>
    internal static HostFunction? Find(ActiveWorker worker, string name) =>
        worker.Functions.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

    // ---- the worker process ----

    private async Task SuperviseWorkerAsync()
    {
        var backoff = TimeSpan.FromMilliseconds(500);
        while (!_stopping.IsCancellationRequested && _stopped == 0)
        {
            WorkerProcess process;
            try
            {
                process = WorkerProcess.Start(Files, Settings, GrpcAddress, WorkerId, RequestId, _loggerFactory.CreateLogger("Worker.Process"));
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                _logger.LogError(ex, "Could not start the worker");
                lock (_gate) _ready.TrySetException(ex);
                return;
            }
            lock (_gate) _process = process;
            var startedAt = DateTime.UtcNow;
            try { await process.Exited.WaitAsync(_stopping.Token); }
            catch (OperationCanceledException) { return; }

            if (_stopping.IsCancellationRequested || _stopped != 0) return;
            _logger.LogError("The worker process (pid {Pid}) exited unexpectedly with code {Code}", process.Id, process.ExitCode);
            process.Kill(); // its watchdog, if any is left
            if (!_options.RestartWorker) return;
            if (DateTime.UtcNow - startedAt > TimeSpan.FromSeconds(30)) backoff = TimeSpan.FromMilliseconds(500);
            _logger.LogInformation("Restarting the worker in {Delay} ms", backoff.TotalMilliseconds);
            try { await Task.Delay(backoff, _stopping.Token); } catch (OperationCanceledException) { return; }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }
    }

    /// <summary>Stops the triggers, tells the worker to terminate, kills it after the grace period,
    /// and closes the listeners. Safe to call twice.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        _logger.LogInformation("Stopping the host");
        var active = _active;
        if (active is not null)
        {
            try
            {
                active.Channel.Send(new StreamingMessage
                {
                    RequestId = RequestId,
                    WorkerTerminate = new WorkerTerminate { GracePeriod = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(_options.WorkerTerminateGracePeriod) },
                });
            }
            catch (WorkerUnavailableException) { }
            // Give the worker its grace period to stop on its own before the stream is cut.
            var exited = _process is { } wp ? wp.Exited : active.Channel.Closed;
            try { await exited.WaitAsync(_options.WorkerTerminateGracePeriod); } catch (TimeoutException) { }
        }
        _stopping.Cancel();
        Task[] background;
        lock (_gate) background = [.. _background];
        try { await Task.WhenAll(background).WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception ex) when (ex is not OutOfMemoryException) { }
        if (_superviseTask is not null) { try { await _superviseTask; } catch (Exception ex) when (ex is not OutOfMemoryException) { } }
        if (_process is { } p) await p.StopAsync(TimeSpan.FromSeconds(1));
        if (_httpApp is not null) { try { using var t1 = new CancellationTokenSource(TimeSpan.FromSeconds(5)); await _httpApp.StopAsync(t1.Token); } catch (Exception ex) when (ex is not OutOfMemoryException) { } }
        if (_grpcApp is not null) { try { using var t2 = new CancellationTokenSource(TimeSpan.FromSeconds(5)); await _grpcApp.StopAsync(t2.Token); } catch (Exception ex) when (ex is not OutOfMemoryException) { } }
        lock (_gate) _ready.TrySetException(new ObjectDisposedException(nameof(LocalFunctionsHost)));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_httpApp is not null) await _httpApp.DisposeAsync();
        if (_grpcApp is not null) await _grpcApp.DisposeAsync();
        Forwarder.Dispose();
        _stopping.Dispose();
    }

    internal bool CheckKey(string? presented, bool adminOnly)
    {
        if (string.IsNullOrEmpty(presented)) return false;
        if (FixedEquals(presented, MasterKey)) return true;
        return !adminOnly && FixedEquals(presented, FunctionKey);
    }

    private static bool FixedEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(a), System.Text.Encoding.UTF8.GetBytes(b));

    private static string NewKey()
    {
        // Azure's generated keys: 40 random bytes, URL-safe base64 (without padding), ending in "==" removed.
        var bytes = RandomNumberGenerator.GetBytes(40);
        return Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_').TrimEnd('=');
    }

    private static TaskCompletionSource<ActiveWorker> NewReady() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A worker that completed the handshake, with what it loaded.</summary>
internal sealed record ActiveWorker(WorkerChannel Channel, IReadOnlyList<HostFunction> Functions, RouteTable Routes);
