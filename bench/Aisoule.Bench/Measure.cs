using System.Diagnostics;
using System.Globalization;

namespace Aisoule.Bench;

/// <summary>Runs an operation a fixed number of times at a fixed concurrency and reports latency and throughput.</summary>
internal static class Measure
{
    public static async Task<Row> RunAsync(string name, int count, int concurrency, Func<int, Task> operation)
    {
        var latencies = new double[count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                await operation(i).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        })).ConfigureAwait(false);
        clock.Stop();
        Array.Sort(latencies);
        return new Row(name, count, concurrency, count / clock.Elapsed.TotalSeconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    public static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>One line of results.</summary>
    internal sealed record Row(string Name, int Count, int Concurrency, double PerSecond, double P50, double P99)
    {
        public static string Header => $"{"measurement",-44} {"n",6} {"conc",5} {"req/s",9} {"p50 ms",8} {"p99 ms",8}";

        public override string ToString() => string.Format(CultureInfo.InvariantCulture,
            "{0,-44} {1,6} {2,5} {3,9:F0} {4,8:F2} {5,8:F2}", Name, Count, Concurrency, PerSecond, P50, P99);
    }
}
