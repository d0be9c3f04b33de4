using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Tests;

public sealed record CapturedLine(string Category, LogLevel Level, string Text);

/// <summary>
/// Every log line of an app, with its message, exception (ToString, so inner exceptions too),
/// structured values and scopes flattened into <see cref="CapturedLine.Text"/>, for leak checks.
/// Add it with <c>configure: b => b.Logging.AddProvider(capture)</c>.
/// </summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLine> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<CapturedLine> Lines => _lines;
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void Dispose() { }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception) + " " + exception;
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
                foreach (var (k, v) in values) text += $" {k}={v}";
            owner._scopes.ForEachScope((s, _) =>
            {
                if (s is IEnumerable<KeyValuePair<string, object?>> pairs) foreach (var (k, v) in pairs) text += $" {k}={v}";
                else text += " scope=" + s;
            }, (object?)null);
            owner._lines.Enqueue(new CapturedLine(category, logLevel, text));
        }
    }
}

/// <summary>The AccountFunctions counters of one app (its IMeterFactory), summed per name and tags (<c>name;tag=value</c>).</summary>
public sealed class MeterCapture : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public MeterCapture(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Core.Operations.AccountMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
                l.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name + string.Concat(tags.ToArray().OrderBy(t => t.Key).Select(t => $";{t.Key}={t.Value}"));
            _counts.AddOrUpdate(key, value, (_, v) => v + value);
        });
        _listener.Start();
    }

    public long this[string key] => _counts.GetValueOrDefault(key);
    public void Dispose() => _listener.Dispose();
}
