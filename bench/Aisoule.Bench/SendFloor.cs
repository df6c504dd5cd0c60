using System.Diagnostics;
using System.Globalization;
using Aisoule.Tests.Infrastructure;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;

namespace Aisoule.Bench;

/// <summary>
/// The floor under a campaign's send rate: the storage calls each recipient's send makes at the least, by the bare SDK
/// on a fresh table and queue, with no API, no pacing, no Meta, and nothing else running. Per recipient, as the host
/// does it:
/// <list type="number">
/// <item>release: the message, its contact and status index rows, and the recipient row moved under its ETag, 24
///       recipients of one partition to a transaction with the partition's three count rows;</item>
/// <item>one queue message;</item>
/// <item>the claim: the message replaced under its ETag and its status index row moved (one transaction);</item>
/// <item>the wamid pointer (an upsert in a table of its own);</item>
/// <item>sent: the message replaced, its status index row moved, its event row added, the recipient merged and two
///       count rows moved (one transaction);</item>
/// <item>the queue message deleted.</item>
/// </list>
/// Releases run ahead of the sends by at most <see cref="Ahead"/> recipients (the fan-out's window at 80 msg/s), 16
/// transactions at once; sends take 32 queue messages at a time and work on them all at once, as the host's queue
/// listener does. Rows are copies of a real message and recipient row (same properties and sizes).
/// </summary>
internal static class SendFloor
{
    private const int Partitions = 16;
    private const int PerTransaction = 24;
    private const int Ahead = 240;

    public static async Task<double> RunAsync(int count, TableEntity message, TableEntity recipient)
    {
        var tables = new TableServiceClient(Azurite.ConnectionString);
        var name = "floor" + BenchHost.NewPrefix();
        var messages = tables.GetTableClient(name + "m");
        var wamids = tables.GetTableClient(name + "w");
        var queue = new QueueServiceClient(Azurite.ConnectionString).GetQueueClient(name + "q");
        await messages.CreateIfNotExistsAsync().ConfigureAwait(false);
        await wamids.CreateIfNotExistsAsync().ConfigureAwait(false);
        await queue.CreateIfNotExistsAsync().ConfigureAwait(false);

        // The recipient list and count rows, as a plan leaves them (untimed).
        var recipients = Enumerable.Range(0, count).Select(i => Copy(recipient, Partition(i), "r_" + Id(i))).ToList();
        await Parallel.ForEachAsync(recipients.GroupBy(r => r.PartitionKey), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (partition, ct) =>
        {
            foreach (var chunk in partition.Chunk(100))
            {
                var response = await messages.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r)), ct).ConfigureAwait(false);
                for (var i = 0; i < chunk.Length; i++)
                {
                    chunk[i].ETag = response.Value[i].Headers.ETag ?? default;
                }
            }

            await messages.SubmitTransactionAsync(Enumerable.Range(0, 3).Select(c => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition.Key, "n_" + c) { ["Count"] = 0L })), ct).ConfigureAwait(false);
        }).ConfigureAwait(false);

        var rows = new MessageRow[count];
        var released = 0;
        var sent = 0;
        var clock = Stopwatch.StartNew();
        var release = Task.Run(async () =>
        {
            // Round-robin over the partitions, a transaction of 24 from each in turn.
            var chunks = recipients.Select((r, i) => (r, i)).GroupBy(x => x.r.PartitionKey).SelectMany(p => p.Chunk(PerTransaction).Select((c, n) => (Chunk: c, Order: n)))
                .OrderBy(x => x.Order).Select(x => x.Chunk).ToList();
            await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (chunk, ct) =>
            {
                while (Volatile.Read(ref released) - Volatile.Read(ref sent) >= Ahead)
                {
                    await Task.Delay(5, ct).ConfigureAwait(false);
                }

                Interlocked.Add(ref released, chunk.Length);
                var partition = chunk[0].r.PartitionKey;
                var actions = new List<TableTransactionAction>();
                foreach (var (r, i) in chunk)
                {
                    var row = rows[i] = new MessageRow(Copy(message, partition, "m_" + Id(i)));
                    actions.Add(new(TableTransactionActionType.Add, row.Entity));
                    actions.Add(new(TableTransactionActionType.Add, new TableEntity(partition, "k_" + Id(i))));
                    actions.Add(new(TableTransactionActionType.Add, new TableEntity(partition, "s_queued_" + Id(i))));
                    actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, r.RowKey) { ["Status"] = "queued" }, r.ETag));
                }

                actions.AddRange(Enumerable.Range(0, 3).Select(c => new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(partition, "n_" + c) { ["Count"] = 1L }, ETag.All)));
                var response = await messages.SubmitTransactionAsync(actions, ct).ConfigureAwait(false);
                for (var n = 0; n < chunk.Length; n++)
                {
                    rows[chunk[n].i].Entity.ETag = response.Value[n * 4].Headers.ETag ?? default;
                }

                foreach (var (_, i) in chunk)
                {
                    await queue.SendMessageAsync(i.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        });

        var send = Task.Run(async () =>
        {
            while (Volatile.Read(ref sent) < count)
            {
                var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5)).ConfigureAwait(false)).Value;
                if (batch.Length == 0)
                {
                    await Task.Delay(20).ConfigureAwait(false);
                    continue;
                }

                await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (m, ct) =>
                {
                    var i = int.Parse(m.MessageText, CultureInfo.InvariantCulture);
                    var row = rows[i];
                    var partition = row.Entity.PartitionKey;
                    row.Entity["Status"] = "sending";
                    var claim = await messages.SubmitTransactionAsync(
                    [
                        new(TableTransactionActionType.UpdateReplace, row.Entity, row.Entity.ETag),
                        new(TableTransactionActionType.Delete, new TableEntity(partition, "s_queued_" + Id(i)), ETag.All),
                        new(TableTransactionActionType.UpsertReplace, new TableEntity(partition, "s_sending_" + Id(i))),
                    ], ct).ConfigureAwait(false);
                    row.Entity.ETag = claim.Value[0].Headers.ETag ?? default;
                    await wamids.UpsertEntityAsync(new TableEntity("wamid.HBgL" + Id(i), "") { ["WorkspaceId"] = "ws", ["MessageId"] = Id(i) }, TableUpdateMode.Replace, ct).ConfigureAwait(false);
                    row.Entity["Status"] = "sent";
                    await messages.SubmitTransactionAsync(
                    [
                        new(TableTransactionActionType.UpdateReplace, row.Entity, row.Entity.ETag),
                        new(TableTransactionActionType.Delete, new TableEntity(partition, "s_sending_" + Id(i)), ETag.All),
                        new(TableTransactionActionType.UpsertReplace, new TableEntity(partition, "s_sent_" + Id(i))),
                        new(TableTransactionActionType.Add, Copy(message, partition, "o_sent_" + Id(i))),
                        new(TableTransactionActionType.UpsertMerge, new TableEntity(partition, "r_" + Id(i)) { ["Status"] = "sent" }),
                        new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, "n_0") { ["Count"] = 2L }, ETag.All),
                        new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, "n_1") { ["Count"] = 2L }, ETag.All),
                    ], ct).ConfigureAwait(false);
                    await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, ct).ConfigureAwait(false);
                    Interlocked.Increment(ref sent);
                }).ConfigureAwait(false);
            }
        });
        await Task.WhenAll(release, send).ConfigureAwait(false);
        var rate = count / clock.Elapsed.TotalSeconds;
        await messages.DeleteAsync().ConfigureAwait(false);
        await wamids.DeleteAsync().ConfigureAwait(false);
        await queue.DeleteAsync().ConfigureAwait(false);
        return rate;
    }

    private sealed class MessageRow(TableEntity entity)
    {
        public TableEntity Entity { get; } = entity;
    }

    private static string Partition(int i) => "ws|" + (i % Partitions).ToString("x", CultureInfo.InvariantCulture);

    private static string Id(int i) => i.ToString("D8", CultureInfo.InvariantCulture);

    private static TableEntity Copy(TableEntity source, string partition, string row)
    {
        var copy = new TableEntity(partition, row);
        foreach (var (key, value) in source)
        {
            if (key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
            {
                copy[key] = value;
            }
        }

        return copy;
    }
}
