using System.Diagnostics;
using System.Globalization;
using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>
/// Issue 6: queued messages through the dispatcher (the local host's queue trigger, as in production) to a
/// loopback Graph API, one number at <c>throughput_mps</c>. Reports the rate Meta saw, the busiest rolling
/// second, queue-to-sent latency, duplicates and losses.
/// </summary>
internal static class DispatchBenchmark
{
    public static async Task RunAsync(int count, int mps)
    {
        await using var graph = await FakeGraphApi.StartAsync();
        await using var host = await BenchHost.StartAsync(graph.Settings());
        var (workspaceId, _) = await host.NewWorkspaceAsync().ConfigureAwait(false);
        var accounts = host.Services.GetRequiredService<WhatsAppAccountService>();
        var added = await accounts.AddAsync(workspaceId, new NewAccount("Bench", "100200300400", "500600700", FakeGraphApi.Token, mps, true), default).ConfigureAwait(false);
        var messages = host.Services.GetRequiredService<MessageService>();

        // The recipients exist already (bulk upsert), as in a real campaign; then queue every send through the API's
        // own send path as fast as it takes them, while the dispatcher is already working.
        var phones = Enumerable.Range(0, count).Select(i => "+1212" + (4_000_000 + i).ToString(CultureInfo.InvariantCulture)).ToList();
        var contacts = host.Services.GetRequiredService<Aisoule.Core.Contacts.ContactService>();
        foreach (var chunk in phones.Chunk(1000))
        {
            await contacts.BulkUpsertAsync(workspaceId, [.. chunk.Select((p, i) => (i, new Aisoule.Core.Contacts.ContactDraft { PhoneNumber = p }))], [], default).ConfigureAwait(false);
        }

        var clock = Stopwatch.StartNew();
        var ids = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var draft = new SendDraft { To = phones[i], Type = "template", Template = new TemplateRef("hello_world", "en_US", null), AccountId = added.Value!.RowKey };
            var accepted = await messages.SendAsync(workspaceId, draft, null, default, ct).ConfigureAwait(false);
            ids[i] = accepted.Value!.Accepted.MessageId;
        }).ConfigureAwait(false);
        Console.WriteLine($"queued {count:N0} messages in {clock.Elapsed.TotalSeconds:F1} s");
        var queuedAll = DateTimeOffset.UtcNow;

        // Wait until Meta has seen every one (or nothing moves for 60 s).
        var last = -1;
        var quiet = Stopwatch.StartNew();
        while (graph.DeliveredPerMessage.Count < count && quiet.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(1000).ConfigureAwait(false);
            if (graph.Sends.Count != last)
            {
                (last, quiet) = (graph.Sends.Count, Stopwatch.StartNew());
            }
        }

        await Task.Delay(2000).ConfigureAwait(false);
        var table = await host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages).ConfigureAwait(false);
        var rows = new List<MessageEntity>();
        await foreach (var row in table.QueryAsync<MessageEntity>(TableClient.CreateQueryFilter($"PartitionKey gt {workspaceId} and PartitionKey lt {workspaceId + "}"} and RowKey ge {"m_"} and RowKey lt {"m`"}")).ConfigureAwait(false))
        {
            rows.Add(row);
        }

        var arrivals = graph.Sends.Where(s => s.Wamid is not null).Select(s => s.At).Order().ToList();
        var busiest = 0;
        for (int i = 0, j = 0; i < arrivals.Count; i++)
        {
            while (j < arrivals.Count && arrivals[j] < arrivals[i] + TimeSpan.FromSeconds(1))
            {
                j++;
            }

            busiest = Math.Max(busiest, j - i);
        }

        var span = (arrivals[^1] - arrivals[0]).TotalSeconds;
        var steady = arrivals.Where(a => a > queuedAll).ToList();
        var steadyRate = steady.Count > 1 ? (steady.Count - 1) / (steady[^1] - steady[0]).TotalSeconds : double.NaN;
        var latencies = rows.Where(r => r.SentAt is not null).Select(r => (r.SentAt!.Value - r.CreatedAt).TotalMilliseconds).Order().ToArray();
        var duplicates = graph.DeliveredPerMessage.Values.Sum(n => n - 1);
        var lost = ids.Count(id => !graph.DeliveredPerMessage.ContainsKey(id));
        var notSent = rows.Count(r => r.Status != MessageStatus.Sent);
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "throughput_mps {0}: {1:N0} sent to Meta in {2:F1} s = {3:F1} msg/s overall, {11:F1} msg/s once all were queued (target >= {4:F1}); busiest rolling second at Meta: {5}; queue-to-sent p50 {6:F0} ms, p99 {7:F0} ms; duplicates {8}, lost {9}, not recorded sent {10}",
            mps, arrivals.Count, span, (arrivals.Count - 1) / span, 0.95 * mps, busiest, Measure.Percentile(latencies, 0.5), Measure.Percentile(latencies, 0.99), duplicates, lost, notSent, steadyRate));
    }
}
