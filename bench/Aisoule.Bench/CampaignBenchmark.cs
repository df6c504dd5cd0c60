using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>
/// Issue 15 point 10: campaigns through the API, sent by the host's own campaign steps and dispatcher to a loopback
/// Graph API, one number at a time.
/// 1. Send: a campaign to <c>recipients</c> contacts (one tag) at <c>throughput_mps</c>; time from the 201 to the
///    first send Meta saw, the rate from first to last send, the busiest rolling second, duplicates (a <c>to</c>
///    sent twice), losses (a recipient never sent), the deepest the sends queue got (sampled every 250 ms), and the
///    campaign's status and stats at the end.
/// 2. Cancel: a second campaign to the same audience, cancelled after about 5 s of sending; time from the cancel's
///    answer to the last send Meta saw, and how many were sent and cancelled.
/// 3. Ceiling: the send phase again at 1,000 msg/s on a number of its own (fresh tables, <c>ceiling_recipients</c>).
/// 4. Plan: a campaign to <c>plan_recipients</c> contacts, on a number at 1 msg/s so that nothing much is sent, is
///    cancelled as soon as it is planned; the time from its start to its recipient list being written, against the
///    bare SDK writing the same rows (100-row transactions, 16 partitions, 16 at once) into a scratch table.
/// 5. Send floor: after send and cancel, with no host running, the bare SDK making each recipient's storage calls for as
///    many recipients (<see cref="SendFloor"/>): the most this emulator and machine allow.
/// A phase given 0 recipients is left out. Each of send, ceiling and plan runs on a host of its own over fresh tables (the emulator's range queries slow
/// down as a table grows); contacts are made through <c>POST /contacts/bulk</c>, 100 a request, 2 at once, untimed.
/// </summary>
internal static class CampaignBenchmark
{
    private const int CeilingMps = 1000;

    /// <summary>The plan phase's number: the campaign is cancelled once planned, so it must not send much meanwhile.</summary>
    private const int PlanMps = 1;

    /// <summary>
    /// Writers of contacts at once, each on its own key. More contend: each request's transactions share the
    /// workspace's count rows, and a transaction that loses is redone item by item; 8 at once overwhelmed the emulator.
    /// </summary>
    private const int BulkWriters = 2;

    private static readonly TimeSpan CancelAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often the bench asks for a running campaign. Not more often: on the emulator each GET of a campaign reads its
    /// stats with a query in each of 16 message partitions, and every query there scans the whole table, which would
    /// slow the run being measured (on Azure each is a short range read). The rates come from Meta's side, not from polls.
    /// </summary>
    private static readonly TimeSpan PollEvery = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(int recipients, int mps, int planRecipients, int ceilingRecipients)
    {
        var whole = Stopwatch.StartNew();
        Console.WriteLine($"campaign: {recipients:N0} recipients at {mps} msg/s, then cancel; ceiling {ceilingRecipients:N0} at {CeilingMps} msg/s; plan {planRecipients:N0}");
        await using var graph = await FakeGraphApi.StartAsync();
        var sends = new List<SendResult>();
        CancelResult? cancel = null;
        PlanResult? plan = null;
        double? sendFloor = null;
        double[] floors = [];

        // A phase given 0 recipients is left out (to measure one phase alone).
        if (recipients > 0)
        {
            (TableEntity Message, TableEntity Recipient) sample;
            await using (var host = await StartHostAsync(graph).ConfigureAwait(false))
            {
                var setup = await SetUpAsync(host, recipients, mps, "bench").ConfigureAwait(false);
                sends.Add(await SendAsync(host, graph, setup, "send").ConfigureAwait(false));
                sample = await SampleRowsAsync(host, setup).ConfigureAwait(false);
                cancel = await CancelAsync(host, graph, setup).ConfigureAwait(false);
            }

            // With no host running, as many recipients as the send phase (the emulator's costs grow with its tables).
            sendFloor = await SendFloor.RunAsync(recipients, sample.Message, sample.Recipient).ConfigureAwait(false);
        }

        if (ceilingRecipients > 0)
        {
            await using var host = await StartHostAsync(graph).ConfigureAwait(false);
            var setup = await SetUpAsync(host, ceilingRecipients, CeilingMps, "ceiling").ConfigureAwait(false);
            sends.Add(await SendAsync(host, graph, setup, "ceiling").ConfigureAwait(false));
        }

        if (planRecipients > 0)
        {
            List<RecipientEntity> planned;
            await using (var host = await StartHostAsync(graph).ConfigureAwait(false))
            {
                var setup = await SetUpAsync(host, planRecipients, PlanMps, "plan").ConfigureAwait(false);
                (plan, planned) = await PlanAsync(host, setup).ConfigureAwait(false);
            }

            // Twice, each into a fresh table: the floor is the faster (this machine's noise is of the order of the figure at small sizes).
            floors = [await FloorAsync(planned).ConfigureAwait(false), await FloorAsync(planned).ConfigureAwait(false)];
        }

        Print(sends, cancel, plan, floors, sendFloor, mps);
        Console.WriteLine($"whole run {whole.Elapsed.TotalMinutes:F1} min");
    }

    private sealed record Setup(string WorkspaceId, string Key, string AccountId, int Mps, string Tag, List<string> Phones);

    private sealed record SendResult(string Phase, int Mps, int Recipients, int Sent, double FirstSendSeconds, double Rate, int Busiest, double LongestGap, int Duplicates, int Lost, long MaxDepth, string Status, string Stats);

    private sealed record CancelResult(int Mps, int Recipients, int SentAtMeta, int SentAfterAnswer, double LastSendAfterAnswerMs, double LastSendAfterAskMs, double AnswerMs, int Duplicates, long MaxDepth, string Status, string Stats, bool Settled);

    private sealed record PlanResult(int Recipients, long Total, double PlannedSeconds, double ResolveSeconds, double WriteSeconds, double FirstToLastRow, double PolledSeconds);

    private static Task<BenchHost> StartHostAsync(FakeGraphApi graph) =>
        BenchHost.StartAsync(new Dictionary<string, string?>(graph.Settings())
        {
            // Setting up and polling is not what is measured: the seed's per-key limits (10/s, 100/min) would only slow it.
            ["RateLimiting:PerMinute"] = "2000",
            ["RateLimiting:PerSecond"] = "1000",
        });

    /// <summary>A workspace, a cloud number at <paramref name="mps"/>, and <paramref name="count"/> contacts tagged <paramref name="tag"/>.</summary>
    private static async Task<Setup> SetUpAsync(BenchHost host, int count, int mps, string tag)
    {
        var clock = Stopwatch.StartNew();
        var (workspaceId, userId, key) = await host.NewWorkspaceWithOwnerAsync().ConfigureAwait(false);
        var phoneNumberId = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(CultureInfo.InvariantCulture);
        var added = await host.Services.GetRequiredService<WhatsAppAccountService>().AddAsync(workspaceId, new NewAccount("Bench", phoneNumberId, "500600700", FakeGraphApi.Token, mps, true), default).ConfigureAwait(false);
        var phones = Enumerable.Range(0, count).Select(i => "+1212" + (4_000_000 + i).ToString(CultureInfo.InvariantCulture)).ToList();

        // One key per writer: writers sharing a key contend on its rate-limit row, which is not what is measured.
        var writerKeys = await host.MoreKeysAsync(workspaceId, userId, BulkWriters).ConfigureAwait(false);
        var chunks = phones.Chunk(100).ToList();
        var done = 0;
        await Task.WhenAll(writerKeys.Select(async (writerKey, w) =>
        {
            for (var c = w; c < chunks.Count; c += writerKeys.Count)
            {
                // An upsert by phone number, so a retry after a 5xx (the emulator overwhelmed: a storage timeout) or a 429 is harmless.
                for (var attempt = 1; ; attempt++)
                {
                    using var response = await host.SendAsync(HttpMethod.Post, "contacts/bulk", writerKey, new { contacts = chunks[c].Select(p => new { phone_number = p, tags = new[] { tag } }) }).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        break;
                    }

                    if (attempt == 30 || response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests))
                    {
                        throw new InvalidOperationException($"contacts/bulk answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
                    }

                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(2 * attempt, 10))).ConfigureAwait(false);
                }

                if (Interlocked.Increment(ref done) % 20 == 0)
                {
                    Console.WriteLine($"  ... {tag}: {done * 100:N0} of {count:N0} contacts, {clock.Elapsed.TotalSeconds:F0} s");
                }
            }
        })).ConfigureAwait(false);
        Console.WriteLine($"  {tag}: {count:N0} contacts in {clock.Elapsed.TotalSeconds:F1} s (untimed setup)");
        return new Setup(workspaceId, key, added.Value!.RowKey, mps, tag, phones);
    }

    /// <summary>A message row and a recipient row of the send phase, as stored: the send floor writes copies of them.</summary>
    private static async Task<(TableEntity Message, TableEntity Recipient)> SampleRowsAsync(BenchHost host, Setup setup)
    {
        var table = await host.Services.GetRequiredService<CampaignStore>().MessagesAsync().ConfigureAwait(false);
        var partition = CampaignKeys.AllPartitions(setup.WorkspaceId).First();
        TableEntity? message = null, recipient = null;
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}")).ConfigureAwait(false))
        {
            message ??= row.RowKey.StartsWith("m_", StringComparison.Ordinal) ? row : null;
            recipient ??= row.RowKey.StartsWith("r_", StringComparison.Ordinal) ? row : null;
            if (message is not null && recipient is not null)
            {
                break;
            }
        }

        return (message ?? throw new InvalidOperationException("No message row to copy."), recipient ?? throw new InvalidOperationException("No recipient row to copy."));
    }

    private static async Task<JsonElement> DataAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (response.StatusCode != expected)
            {
                throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}");
            }

            return JsonDocument.Parse(text).RootElement.GetProperty("data").Clone();
        }
    }

    private static async Task<(string Id, DateTimeOffset Answered, JsonElement View)> CreateAsync(BenchHost host, Setup setup, string name)
    {
        var body = new { name, whatsapp_account_id = setup.AccountId, template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { setup.Tag } } };
        var view = await DataAsync(await host.SendAsync(HttpMethod.Post, "campaigns", setup.Key, body).ConfigureAwait(false), HttpStatusCode.Created).ConfigureAwait(false);
        return (view.GetProperty("id").GetString()!, DateTimeOffset.UtcNow, view);
    }

    /// <summary>The campaign's view; a 503 or 429 (the emulator overwhelmed: its key's rate row not written in time) is asked again, up to 5 times.</summary>
    private static async Task<JsonElement> GetAsync(BenchHost host, Setup setup, string id)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await host.SendAsync(HttpMethod.Get, "campaigns/" + id, setup.Key).ConfigureAwait(false);
            if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests) || attempt == 5)
            {
                return await DataAsync(response, HttpStatusCode.OK).ConfigureAwait(false);
            }

            response.Dispose();
            await Task.Delay(1000).ConfigureAwait(false);
        }
    }

    private static long Stat(JsonElement view, string name) => view.GetProperty("stats").GetProperty(name).GetInt64();

    private static string Stats(JsonElement view) => string.Join(" ", view.GetProperty("stats").EnumerateObject().Select(p => $"{p.Name} {p.Value.GetInt64()}"));

    /// <summary>Successful sends Meta saw from the <paramref name="from"/>-th on, by arrival (<c>to</c> as Meta gets it: digits, no <c>+</c>).</summary>
    private static List<(string To, DateTimeOffset At)> SendsSince(FakeGraphApi graph, int from) =>
        [.. graph.Sends.Skip(from).Where(s => s.Wamid is not null).Select(s => (s.Body.GetProperty("to").GetString()!, s.At)).OrderBy(s => s.At)];

    private static int Duplicates(List<(string To, DateTimeOffset At)> sends) => sends.GroupBy(s => s.To, StringComparer.Ordinal).Sum(g => g.Count() - 1);

    /// <summary>The longest Meta went without a send between the first and the last (a stalled fan-out shows here).</summary>
    private static double LongestGap(List<(string To, DateTimeOffset At)> sends) =>
        sends.Count < 2 ? double.NaN : sends.Zip(sends.Skip(1), (a, b) => (b.At - a.At).TotalSeconds).Max();

    private static int Busiest(List<(string To, DateTimeOffset At)> sends)
    {
        var busiest = 0;
        for (int i = 0, j = 0; i < sends.Count; i++)
        {
            while (j < sends.Count && sends[j].At < sends[i].At + TimeSpan.FromSeconds(1))
            {
                j++;
            }

            busiest = Math.Max(busiest, j - i);
        }

        return busiest;
    }

    /// <summary>One campaign to the whole audience, until it completes (or Meta sees nothing new for 60 s).</summary>
    private static async Task<SendResult> SendAsync(BenchHost host, FakeGraphApi graph, Setup setup, string phase)
    {
        var before = graph.Sends.Count;
        JsonElement view;
        long maxDepth;
        await using (var depth = new DepthSampler(host, MessagingNames.SendsQueue))
        {
            var (id, answered, _) = await CreateAsync(host, setup, phase).ConfigureAwait(false);
            view = await WaitAsync(host, graph, setup, id, before, v => CampaignStatus.IsFinal(v.GetProperty("status").GetString()!)).ConfigureAwait(false);
            maxDepth = depth.Max;
            var sends = SendsSince(graph, before);
            if (sends.Count > 0)
            {
                Console.WriteLine("  per second: " + string.Join(" ", sends.GroupBy(x => (int)(x.At - sends[0].At).TotalSeconds).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}")));
            }

            var sentTo = sends.Select(s => s.To).ToHashSet(StringComparer.Ordinal);
            var span = sends.Count > 1 ? (sends[^1].At - sends[0].At).TotalSeconds : double.NaN;
            return new SendResult(phase, setup.Mps, setup.Phones.Count, sends.Count,
                sends.Count > 0 ? (sends[0].At - answered).TotalSeconds : double.NaN, (sends.Count - 1) / span, Busiest(sends), LongestGap(sends),
                Duplicates(sends), setup.Phones.Count(p => !sentTo.Contains(p.TrimStart('+'))), maxDepth, view.GetProperty("status").GetString()!, Stats(view));
        }
    }

    /// <summary>Polls the campaign every <see cref="PollEvery"/> until <paramref name="done"/>, or until Meta has seen nothing new for 60 s; then lets the last writes land.</summary>
    private static async Task<JsonElement> WaitAsync(BenchHost host, FakeGraphApi graph, Setup setup, string id, int before, Func<JsonElement, bool> done)
    {
        var last = -1;
        var quiet = Stopwatch.StartNew();
        var ticks = 0;
        JsonElement view;
        while (!done(view = await GetAsync(host, setup, id).ConfigureAwait(false)) && quiet.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(PollEvery).ConfigureAwait(false);
            if (++ticks % 3 == 0)
            {
                Console.WriteLine($"  ... {view.GetProperty("status").GetString()}: {Stats(view)}; {graph.Sends.Count - before:N0} sends at Meta");
            }

            if (graph.Sends.Count != last)
            {
                (last, quiet) = (graph.Sends.Count, Stopwatch.StartNew());
            }
        }

        await Task.Delay(2000).ConfigureAwait(false);
        return await GetAsync(host, setup, id).ConfigureAwait(false);
    }

    /// <summary>A second campaign to the same audience, cancelled after <see cref="CancelAfter"/> of sending.</summary>
    private static async Task<CancelResult> CancelAsync(BenchHost host, FakeGraphApi graph, Setup setup)
    {
        var before = graph.Sends.Count;
        await using var depth = new DepthSampler(host, MessagingNames.SendsQueue);
        var (id, _, _) = await CreateAsync(host, setup, "cancel").ConfigureAwait(false);
        while (graph.Sends.Count == before)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }

        await Task.Delay(CancelAfter).ConfigureAwait(false);
        var asked = Stopwatch.StartNew();
        var askedAt = DateTimeOffset.UtcNow;
        using (var response = await host.SendAsync(HttpMethod.Post, $"campaigns/{id}/cancel", setup.Key).ConfigureAwait(false))
        {
            // 409: the audience was sent in full before the cancel (too small an audience to measure a cancel).
            if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Conflict))
            {
                throw new InvalidOperationException($"cancel answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
            }
        }

        var answered = DateTimeOffset.UtcNow;
        var answerMs = asked.Elapsed.TotalMilliseconds;

        // Settled: nothing pending or queued (queued counts both).
        var view = await WaitAsync(host, graph, setup, id, before, v => CampaignStatus.IsFinal(v.GetProperty("status").GetString()!) && Stat(v, "queued") == 0).ConfigureAwait(false);
        var sends = SendsSince(graph, before);
        var after = sends.Count(s => s.At > answered);
        return new CancelResult(setup.Mps, setup.Phones.Count, sends.Count, after, after > 0 ? (sends[^1].At - answered).TotalMilliseconds : 0, (sends[^1].At - askedAt).TotalMilliseconds, answerMs,
            Duplicates(sends), depth.Max, view.GetProperty("status").GetString()!, Stats(view), Stat(view, "queued") == 0);
    }

    /// <summary>
    /// A campaign on a 1 msg/s number: from its start to its recipient list written (the campaign row's <c>Planned</c>
    /// write, polled every 100 ms by point read); then cancelled. Returns the rows it wrote, for the floor.
    /// </summary>
    private static async Task<(PlanResult, List<RecipientEntity>)> PlanAsync(BenchHost host, Setup setup)
    {
        var store = host.Services.GetRequiredService<CampaignStore>();
        var (id, answered, created) = await CreateAsync(host, setup, "plan").ConfigureAwait(false);
        var startedAt = created.GetProperty("started_at").GetDateTimeOffset();
        CampaignEntity? row;
        var polled = Stopwatch.StartNew();
        while ((row = await store.FindAsync(setup.WorkspaceId, id).ConfigureAwait(false)) is not { Planned: true })
        {
            if (polled.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException("The plan campaign was not planned within 5 minutes.");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        var plannedAt = row.Timestamp!.Value;
        var polledSeconds = (DateTimeOffset.UtcNow - answered).TotalSeconds;

        // The rows as written, read before the cancel changes their status (a few are released meanwhile, at 1 msg/s).
        var table = await store.MessagesAsync().ConfigureAwait(false);
        var rows = new List<RecipientEntity>();
        foreach (var partition in CampaignKeys.AllPartitions(setup.WorkspaceId))
        {
            await foreach (var recipient in table.QueryAsync<RecipientEntity>(TableKeys.PrefixFilter(partition, CampaignKeys.RecipientRange(id)), maxPerPage: 1000).ConfigureAwait(false))
            {
                rows.Add(recipient);
            }
        }

        var untouched = rows.Where(r => r.Status == RecipientStatus.Pending).Select(r => r.Timestamp!.Value).ToList();
        var firstToLast = untouched.Count > 1 ? (untouched.Max() - untouched.Min()).TotalSeconds : double.NaN;
        await DataAsync(await host.SendAsync(HttpMethod.Post, $"campaigns/{id}/cancel", setup.Key).ConfigureAwait(false), HttpStatusCode.OK).ConfigureAwait(false);
        var view = await GetAsync(host, setup, id).ConfigureAwait(false);
        var settle = Stopwatch.StartNew();
        while (Stat(view, "queued") > 0 && settle.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(1000).ConfigureAwait(false);
            view = await GetAsync(host, setup, id).ConfigureAwait(false);
        }

        var resolvedAt = rows.Min(r => r.UpdatedAt!.Value);
        foreach (var recipient in rows)
        {
            recipient.Status = RecipientStatus.Pending;
            recipient.EverSent = false;
            recipient.ErrorCode = recipient.ErrorTitle = recipient.ErrorCategory = null;
            recipient.UpdatedAt = resolvedAt;
            recipient.ETag = default;
            recipient.Timestamp = null;
        }

        Console.WriteLine($"  plan: total {Stat(view, "total"):N0}, {rows.Count:N0} recipient rows; after cancel: {view.GetProperty("status").GetString()}, {Stats(view)}");
        return (new PlanResult(setup.Phones.Count, Stat(view, "total"), (plannedAt - startedAt).TotalSeconds, (resolvedAt - startedAt).TotalSeconds, (plannedAt - resolvedAt).TotalSeconds, firstToLast, polledSeconds), rows);
    }

    /// <summary>The bare SDK writing the same rows: 100-row transactions, one partition's in turn, 16 partitions at once, into a fresh table.</summary>
    private static async Task<double> FloorAsync(List<RecipientEntity> rows)
    {
        var table = new TableServiceClient(Azurite.ConnectionString).GetTableClient("floor" + BenchHost.NewPrefix());
        await table.CreateIfNotExistsAsync().ConfigureAwait(false);

        // Warm: the host's connections are open when it plans; these must be too.
        await Parallel.ForEachAsync(Enumerable.Range(0, 16), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await table.AddEntityAsync(new TableEntity("warm", i.ToString(CultureInfo.InvariantCulture)), ct).ConfigureAwait(false)).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(rows.GroupBy(r => r.PartitionKey), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (partition, ct) =>
        {
            foreach (var chunk in partition.Chunk(100))
            {
                await table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r)), ct).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        await table.DeleteAsync().ConfigureAwait(false);
        return seconds;
    }

    private static void Print(List<SendResult> sends, CancelResult? cancel, PlanResult? plan, double[] floors, double? sendFloor, int mps)
    {
        static string F(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);
        Console.WriteLine();
        Console.WriteLine($"{"phase",-8} {"mps",5} {"recipients",10} {"sent",7} {"201->1st s",10} {"msg/s",7} {"busiest 1s",10} {"gap s",6} {"dup",4} {"lost",5} {"max queue",9}  {"status",-9} stats");
        foreach (var s in sends)
        {
            Console.WriteLine($"{s.Phase,-8} {s.Mps,5} {s.Recipients,10:N0} {s.Sent,7:N0} {F(s.FirstSendSeconds, "F2"),10} {F(s.Rate, "F1"),7} {s.Busiest,10} {F(s.LongestGap, "F2"),6} {s.Duplicates,4} {s.Lost,5} {s.MaxDepth,9}  {s.Status,-9} {s.Stats}");
        }

        if (cancel is not null)
        {
            Console.WriteLine($"{"cancel",-8} {cancel.Mps,5} {cancel.Recipients,10:N0} {cancel.SentAtMeta,7:N0} {"",10} {"",7} {"",10} {"",6} {cancel.Duplicates,4} {"",5} {cancel.MaxDepth,9}  {cancel.Status,-9} {cancel.Stats}");
        }

        Console.WriteLine();
        if (sends.FirstOrDefault(s => s.Phase == "send") is { } send)
        {
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "send at {0}: rate {1:F1} msg/s (target >= {2:F1}), busiest rolling second {3} (limit {0})",
                mps, send.Rate, 0.95 * mps, send.Busiest));
        }

        if (sendFloor is { } floor)
        {
            var ceiling = sends.FirstOrDefault(s => s.Phase == "ceiling");
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "send floor (the bare SDK making each send's storage calls for as many recipients, unpaced, nothing else running): {0:F1} msg/s; the campaign at {1} msg/s sent at {2:P0} of it{3}",
                floor, mps, sends[0].Rate / floor, ceiling is null ? "" : string.Format(CultureInfo.InvariantCulture, ", the ceiling phase ({0:N0} recipients) at {1:P0}", ceiling.Recipients, ceiling.Rate / floor)));
        }

        if (cancel is not null)
        {
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "cancel after {0:F0} s of sending: answered in {1:F0} ms; the last send Meta saw came {2:F0} ms after the answer ({3} sends after it; {7:F0} ms after the request left); {4} sent in all, stats: {5}{6}",
                CancelAfter.TotalSeconds, cancel.AnswerMs, cancel.LastSendAfterAnswerMs, cancel.SentAfterAnswer, cancel.SentAtMeta, cancel.Stats, cancel.Settled ? "" : " (NOT settled: something still queued after 60 s)", cancel.LastSendAfterAskMs));
        }

        if (plan is not null)
        {
            var floorSeconds = floors.Min();
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "plan {0:N0} recipients (stats.total {1:N0}): start to planned {2:F1} s (201 to seen planned by polling: {9:F1} s) = audience read {3:F1} s + rows written {4:F1} s ({5:N0} rows/s; first to last recipient row stored {10:F1} s); floor, the same rows by the bare SDK: {6:F1} s ({7:N0} rows/s; runs {11}), rows written / floor = {8:F2}",
                plan.Recipients, plan.Total, plan.PlannedSeconds, plan.ResolveSeconds, plan.WriteSeconds, plan.Recipients / plan.WriteSeconds, floorSeconds, plan.Recipients / floorSeconds, plan.WriteSeconds / floorSeconds, plan.PolledSeconds, plan.FirstToLastRow, string.Join(" and ", floors.Select(f => f.ToString("F2", CultureInfo.InvariantCulture) + " s"))));
        }
    }
}
