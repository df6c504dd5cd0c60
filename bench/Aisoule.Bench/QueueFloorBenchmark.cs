using System.Diagnostics;
using System.Globalization;
using Aisoule.Tests.Infrastructure;
using Azure.Storage.Queues;

namespace Aisoule.Bench;

/// <summary>
/// The storage floor under the dispatch benchmark: with <c>depth</c> messages on a queue, how fast the bare SDK
/// can take <c>sample</c> of them off it the way any queue-triggered function does (receive 32, delete each,
/// 16 at a time) and nothing else: the floor a dispatcher on the same emulator works against.
/// </summary>
internal static class QueueFloorBenchmark
{
    public static async Task RunAsync(int depth, int sample)
    {
        var queue = new QueueServiceClient(Azurite.ConnectionString).GetQueueClient("floor" + Guid.NewGuid().ToString("N")[..8]);
        await queue.CreateIfNotExistsAsync().ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, depth), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            await queue.SendMessageAsync("m" + i.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false)).ConfigureAwait(false);
        Console.WriteLine($"{depth:N0} messages queued in {clock.Elapsed.TotalSeconds:F1} s");

        var taken = 0;
        var deletes = new List<double>();
        clock.Restart();
        while (taken < sample)
        {
            var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5)).ConfigureAwait(false)).Value;
            if (batch.Length == 0)
            {
                break;
            }

            await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (m, ct) =>
            {
                var one = Stopwatch.StartNew();
                await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, ct).ConfigureAwait(false);
                lock (deletes)
                {
                    deletes.Add(one.Elapsed.TotalMilliseconds);
                }
            }).ConfigureAwait(false);
            taken += batch.Length;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var sorted = deletes.Order().ToArray();
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "queue starting {0:N0} deep: {1:N0} received and deleted in {2:F1} s = {3:F1} msg/s; delete p50 {4:F1} ms, p99 {5:F1} ms",
            depth, taken, seconds, taken / seconds, Measure.Percentile(sorted, 0.5), Measure.Percentile(sorted, 0.99)));
        await queue.DeleteAsync().ConfigureAwait(false);
    }
}
