using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Aisoule.Tests.Infrastructure;

/// <summary>Keeps every log line a host writes, with its exception and scopes, so tests can read what was logged.</summary>
internal sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<CapturedLog> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    /// <summary>Everything logged, as one text, for "was this ever written" checks.</summary>
    public string AllText() => string.Join('\n', Entries.Select(e => e.ToString()));

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<string>();
            owner._scopes.ForEachScope((scope, list) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object>> pairs)
                {
                    list.AddRange(pairs.Select(p => $"{p.Key}={p.Value}"));
                }
                else
                {
                    list.Add(scope?.ToString() ?? "");
                }
            }, scopes);
            owner.Entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), exception, scopes));
        }
    }
}

internal sealed record CapturedLog(LogLevel Level, string Category, string Message, Exception? Exception, IReadOnlyList<string> Scopes)
{
    public override string ToString() => $"{Level} {Category}: {Message} [{string.Join(", ", Scopes)}] {Exception}";
}
