using System.Diagnostics;
using System.Globalization;
using Aisoule.Core.Accounts;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>
/// Issue 6: queued messages through the dispatcher (the local host's queue trigger, as in production) to a
/// loopback Graph API, one number at <c>throughput_mps</c>.
/// 1. Backlog: <c>count</c> messages are accepted through the API's send path by an instance whose dispatcher is
///    disabled (<c>AzureWebJobs.DispatchSend.Disabled</c>); then an instance with the dispatcher starts on the
///    same storage. Reports the rate Meta saw, the busiest rolling second, duplicates and losses.
/// 2. Steady load: <c>live</c> more messages accepted at half the limit while the dispatcher runs; reports their
///    queue-to-sent latency (a backlog's latency is only its length divided by the rate).
/// </summary>
internal static class DispatchBenchmark
{
    public static async Task RunAsync(int count, int mps, int live)
    {
        await using var graph = await FakeGraphApi.StartAsync();
        var prefix = BenchHost.NewPrefix();
        string workspaceId;
        string accountId;
        string[] backlog;
        var clock = Stopwatch.StartNew();
        await using (var api = await BenchHost.StartAsync(new Dictionary<string, string?>(graph.Settings()) { ["AzureWebJobs.DispatchSend.Disabled"] = "true" }, prefix).ConfigureAwait(false))
        {
            (workspaceId, _) = await api.NewWorkspaceAsync().ConfigureAwait(false);
            var added = await api.Services.GetRequiredService<WhatsAppAccountService>().AddAsync(workspaceId, new NewAccount("Bench", "100200300400", "500600700", FakeGraphApi.Token, mps, true), default).ConfigureAwait(false);
            accountId = added.Value!.RowKey;

            // The recipients exist already (bulk upsert), as in a real campaign.
            var contacts = api.Services.GetRequiredService<ContactService>();
            foreach (var chunk in Phones(0, count + live).Chunk(1000))
            {
                await contacts.BulkUpsertAsync(workspaceId, [.. chunk.Select((p, i) => (i, new ContactDraft { PhoneNumber = p }))], [], default).ConfigureAwait(false);
            }

            Console.WriteLine($"{count + live:N0} contacts in {clock.Elapsed.TotalSeconds:F1} s");
            clock.Restart();
            backlog = await AcceptAsync(api.Services.GetRequiredService<MessageService>(), workspaceId, accountId, Phones(0, count), null).ConfigureAwait(false);
            Console.WriteLine($"{count:N0} messages accepted and queued in {clock.Elapsed.TotalSeconds:F1} s, dispatcher off");
        }

        var dispatchStart = DateTimeOffset.UtcNow;
        await using var host = await BenchHost.StartAsync(graph.Settings(), prefix).ConfigureAwait(false);
        await WaitForAsync(graph, count).ConfigureAwait(false);
        var arrivals = graph.Sends.Where(s => s.Wamid is not null).Select(s => s.At).Order().ToList();
        var rows = await RowsAsync(host, workspaceId).ConfigureAwait(false);
        var drain = rows.Where(r => r.SentAt is not null).Select(r => (r.SentAt!.Value - dispatchStart).TotalMilliseconds).Order().ToArray();
        Report("backlog", mps, count, arrivals, backlog, graph, rows, drain, "dispatcher start to sent", $"target >= {0.95 * mps:F1}");

        // Steady load: accepted at half the limit while the dispatcher runs.
        var before = graph.Sends.Count;
        var steady = await AcceptAsync(host.Services.GetRequiredService<MessageService>(), workspaceId, accountId, Phones(count, live), Math.Max(1, mps / 2)).ConfigureAwait(false);
        await WaitForAsync(graph, count + live).ConfigureAwait(false);
        var liveIds = steady.ToHashSet(StringComparer.Ordinal);
        var liveRows = (await RowsAsync(host, workspaceId).ConfigureAwait(false)).Where(r => liveIds.Contains(r.Id)).ToList();
        var latencies = liveRows.Where(r => r.SentAt is not null).Select(r => (r.SentAt!.Value - r.CreatedAt).TotalMilliseconds).Order().ToArray();
        var liveArrivals = graph.Sends.Skip(before).Where(s => s.Wamid is not null).Select(s => s.At).Order().ToList();
        Report("steady", mps, live, liveArrivals, steady, graph, liveRows, latencies, "accepted to sent", $"offered {Math.Max(1, mps / 2)}/s");
    }

    private static List<string> Phones(int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => "+1212" + (4_000_000 + i).ToString(CultureInfo.InvariantCulture))];

    /// <summary>Through the API's own send path, 32 at a time, or spaced to <paramref name="perSecond"/>.</summary>
    private static async Task<string[]> AcceptAsync(MessageService messages, string workspaceId, string accountId, List<string> phones, int? perSecond)
    {
        var ids = new string[phones.Count];
        var started = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, phones.Count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            if (perSecond is { } rate && TimeSpan.FromSeconds((double)i / rate) - started.Elapsed is var wait && wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }

            var draft = new SendDraft { To = phones[i], Type = "template", Template = new TemplateRef("hello_world", "en_US", null), AccountId = accountId };
            var accepted = await messages.SendAsync(workspaceId, draft, null, default, ct).ConfigureAwait(false);
            ids[i] = accepted.Value!.Accepted.MessageId;
        }).ConfigureAwait(false);
        return ids;
    }

    /// <summary>Until Meta has seen <paramref name="total"/> messages, or nothing has moved for 60 s.</summary>
    private static async Task WaitForAsync(FakeGraphApi graph, int total)
    {
        var last = -1;
        var quiet = Stopwatch.StartNew();
        var ticks = 0;
        while (graph.DeliveredPerMessage.Count < total && quiet.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(1000).ConfigureAwait(false);
            if (++ticks % 15 == 0)
            {
                Console.WriteLine($"  ... {graph.DeliveredPerMessage.Count:N0} of {total:N0} at Meta");
            }

            if (graph.Sends.Count != last)
            {
                (last, quiet) = (graph.Sends.Count, Stopwatch.StartNew());
            }
        }

        // Let the last "sent" writes land.
        await Task.Delay(2000).ConfigureAwait(false);
    }

    private static async Task<List<MessageEntity>> RowsAsync(BenchHost host, string workspaceId)
    {
        var table = await host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages).ConfigureAwait(false);
        var rows = new List<MessageEntity>();
        await foreach (var row in table.QueryAsync<MessageEntity>(TableClient.CreateQueryFilter($"PartitionKey gt {workspaceId} and PartitionKey lt {workspaceId + "}"} and RowKey ge {"m_"} and RowKey lt {"m`"}")).ConfigureAwait(false))
        {
            rows.Add(row);
        }

        return rows;
    }

    private static void Report(string phase, int mps, int count, List<DateTimeOffset> arrivals, string[] ids, FakeGraphApi graph, List<MessageEntity> rows, double[] latencies, string latencyName, string rateNote)
    {
        var busiest = 0;
        for (int i = 0, j = 0; i < arrivals.Count; i++)
        {
            while (j < arrivals.Count && arrivals[j] < arrivals[i] + TimeSpan.FromSeconds(1))
            {
                j++;
            }

            busiest = Math.Max(busiest, j - i);
        }

        var span = arrivals.Count > 1 ? (arrivals[^1] - arrivals[0]).TotalSeconds : double.NaN;
        var delivered = graph.DeliveredPerMessage;
        var duplicates = ids.Sum(id => delivered.TryGetValue(id, out var n) ? n - 1 : 0);
        var lost = ids.Count(id => !delivered.ContainsKey(id));
        var wanted = ids.ToHashSet(StringComparer.Ordinal);
        var notSentRows = rows.Where(r => wanted.Contains(r.Id) && r.Status != MessageStatus.Sent).ToList();
        var notSent = notSentRows.Count;
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "{0}, throughput_mps {1}: {2:N0} of {3:N0} sent to Meta in {4:F1} s = {5:F1} msg/s ({6}); busiest rolling second at Meta: {7} (limit {1}); {8} p50 {9:F0} ms, p99 {10:F0} ms; duplicates {11}, lost {12}, not recorded sent {13}",
            phase, mps, arrivals.Count, count, span, (arrivals.Count - 1) / span, rateNote, busiest, latencyName,
            Measure.Percentile(latencies, 0.5), Measure.Percentile(latencies, 0.99), duplicates, lost, notSent));
        foreach (var group in notSentRows.GroupBy(r => $"{r.Status} {r.ErrorCode}".Trim()).OrderByDescending(g => g.Count()))
        {
            Console.WriteLine($"  not sent: {group.Count()} {group.Key}");
        }
    }
}
