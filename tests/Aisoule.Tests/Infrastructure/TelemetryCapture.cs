using System.Collections;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// What a test host exports through OpenTelemetry, kept in memory: spans and metrics through the InMemory exporter,
/// log records copied as they are exported (the SDK reuses a record once its export returns). Given to
/// <see cref="TestHost.StartAsync"/> as its services callback; production code never exports to memory.
/// </summary>
/// <remarks>
/// Span and metric listeners are process-wide, so spans and measurements of other hosts running meanwhile are seen
/// too: a test picks its own by trace id or workspace id. Logs are the host's own.
/// </remarks>
internal sealed class TelemetryCapture
{
    private readonly Locked<Activity> _spans = new();
    private readonly Locked<MetricSnapshot> _metrics = new();
    private readonly Locked<ExportedLog> _logs = new();

    public void Configure(IServiceCollection services)
    {
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans));
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(_metrics));
        services.ConfigureOpenTelemetryLoggerProvider(logging => logging.AddProcessor(new SimpleLogRecordExportProcessor(new LogExporter(_logs))));
    }

    public IReadOnlyList<Activity> Spans => _spans.Snapshot();

    public IReadOnlyList<ExportedLog> Logs => _logs.Snapshot();

    /// <summary>Collects the metrics now; the latest snapshot of each (they are cumulative).</summary>
    public IReadOnlyList<MetricSnapshot> Metrics(IServiceProvider services)
    {
        services.GetRequiredService<MeterProvider>().ForceFlush();
        return [.. _metrics.Snapshot().GroupBy(m => m.Name, StringComparer.Ordinal).Select(g => g.Last())];
    }

    public static void FlushLogs(IServiceProvider services) => services.GetRequiredService<LoggerProvider>().ForceFlush();

    internal sealed record ExportedLog(
        string? Category,
        string? FormattedMessage,
        string? Body,
        IReadOnlyList<KeyValuePair<string, object?>> Attributes,
        IReadOnlyList<KeyValuePair<string, object?>> Scopes,
        ActivityTraceId TraceId,
        ActivitySpanId SpanId,
        string? Exception)
    {
        public object? Scope(string key) => Scopes.LastOrDefault(s => s.Key == key).Value;
    }

    private sealed class LogExporter(Locked<ExportedLog> records) : BaseExporter<LogRecord>
    {
        public override ExportResult Export(in Batch<LogRecord> batch)
        {
            foreach (var record in batch)
            {
                var scopes = new List<KeyValuePair<string, object?>>();
                record.ForEachScope(
                    (scope, list) =>
                    {
                        foreach (var pair in scope)
                        {
                            list.Add(pair);
                        }
                    },
                    scopes);
                records.Add(new ExportedLog(
                    record.CategoryName,
                    record.FormattedMessage,
                    record.Body,
                    record.Attributes?.ToList() ?? [],
                    scopes,
                    record.TraceId,
                    record.SpanId,
                    record.Exception?.ToString()));
            }

            return ExportResult.Success;
        }
    }

    /// <summary>A collection the exporters add to while a test reads it.</summary>
    private sealed class Locked<T> : ICollection<T>
    {
        private readonly List<T> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<T> Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }

        public void Add(T item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(T item) => Snapshot().Contains(item);

        public void CopyTo(T[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(T item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
