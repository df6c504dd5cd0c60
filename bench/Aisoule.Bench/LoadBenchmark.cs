using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Aisoule.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>
/// Issue 14: concurrent clients of one workspace, each within the seed's rate limits, on the local host over real
/// HTTP. <c>mixed</c>: a mix of contact reads, lists, creates, updates and template sends; <c>writes</c>: contact
/// creates and updates only, at several numbers of writers. Reads and writes are reported apart (p50/p99), with
/// every 5xx and 429 counted, so contention on a workspace's shared rows shows as the gap between the two.
/// </summary>
internal static class LoadBenchmark
{
    /// <summary>Requests a key may make in a minute at the seed's limits (100), with a margin.</summary>
    private const int PerKeyPerMinute = 95;

    private const int KeysPerClient = 2;

    // Writers and their pace: 32 at half pace offers what 16 do, so the two show whether latency follows the writers in
    // flight (contention) or the requests a second the machine must serve (capacity).
    private static readonly (int Writers, double Pace)[] WriterPhases = [(8, 1), (16, 1), (32, 0.5), (32, 1)];

    private static readonly string[] LoadTag = ["load"];

    private const int FloorRows = 6;

    public static async Task RunAsync(int clients, int seconds, int writersMax)
    {
        // Each phase on a host of its own over fresh tables: the emulator's costs grow with a table's size (bench/README.md),
        // so a phase run after others would measure what they left behind.
        await using (var mixedHost = await BenchHost.StartAsync().ConfigureAwait(false))
        {
            var (keys, contacts) = await WorkspaceAsync(mixedHost, clients).ConfigureAwait(false);
            Console.WriteLine($"{contacts.Count} contacts in one workspace; {clients} clients over {clients * KeysPerClient} keys for {seconds} s, each key at most {PerKeyPerMinute}/min");
            var mixed = await RunClientsAsync(mixedHost, keys, clients, TimeSpan.FromSeconds(seconds), contacts, mixed: true).ConfigureAwait(false);
            Print($"mixed ({clients} clients: 35% get, 20% list, 20% create, 10% update, 15% send)", mixed);
        }

        foreach (var (writers, pace) in WriterPhases.Where(w => w.Writers <= writersMax))
        {
            await using var host = await BenchHost.StartAsync().ConfigureAwait(false);
            var (keys, contacts) = await WorkspaceAsync(host, writers).ConfigureAwait(false);
            var phase = TimeSpan.FromSeconds(Math.Max(10, seconds / 3));
            var how = pace == 1 ? "" : $", each at {pace:0.##} of the pace";
            var result = await RunClientsAsync(host, keys, writers, phase, contacts, mixed: false, pace).ConfigureAwait(false);
            Print($"contact writes only ({writers} writers{how}: 50% create, 50% update)", result);
            Print($"  floor: the bare SDK, {writers} writers at the same pace, each a {FloorRows}-row insert transaction in one partition", await FloorAsync(host, writers, phase, pace).ConfigureAwait(false));
        }
    }

    /// <summary>A workspace with two keys a client and 100 contacts to read and update.</summary>
    private static async Task<(List<string> Keys, ConcurrentBag<(string Id, string Phone)> Contacts)> WorkspaceAsync(BenchHost host, int clients)
    {
        var (workspaceId, userId, firstKey) = await host.NewWorkspaceWithOwnerAsync().ConfigureAwait(false);
        var keys = await host.MoreKeysAsync(workspaceId, userId, (clients * KeysPerClient) - 1).ConfigureAwait(false);
        keys.Insert(0, firstKey);
        var contacts = new ConcurrentBag<(string Id, string Phone)>();
        for (var i = 0; i < 100; i++)
        {
            contacts.Add(await CreateAsync(host, keys[i % keys.Count], i).ConfigureAwait(false));
        }

        return (keys, contacts);
    }

    private static async Task<(string Id, string Phone)> CreateAsync(BenchHost host, string key, int n)
    {
        var phone = "+1212" + Random.Shared.Next(2_000_000, 9_999_999).ToString(CultureInfo.InvariantCulture);
        using var response = await host.SendAsync(HttpMethod.Post, "contacts", key, new { phone_number = phone, name = $"Load {n}", tags = LoadTag }).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return (await ExistingOrThrowAsync(response).ConfigureAwait(false), phone);
        }

        var data = (await response.Content.ReadFromJsonAsync<JsonElement>().ConfigureAwait(false)).GetProperty("data");
        return (data.GetProperty("id").GetString()!, phone);
    }

    private static async Task<string> ExistingOrThrowAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadFromJsonAsync<JsonElement>().ConfigureAwait(false);
        return body.TryGetProperty("id", out var id) ? id.GetString()! : throw new InvalidOperationException($"POST /contacts answered {(int)response.StatusCode}: {body}");
    }

    private static Task<Result> RunClientsAsync(BenchHost host, List<string> keys, int clients, TimeSpan duration, ConcurrentBag<(string Id, string Phone)> contacts, bool mixed, double pace = 1)
    {
        var known = contacts.ToArray();
        return PacedAsync(clients, duration, pace, async (client, n, random) =>
        {
            var key = keys[(client * KeysPerClient) + (n % KeysPerClient)];
            var target = known[random.Next(known.Length)];
            var roll = random.NextDouble();
            var (kind, method, path, body) = mixed
                ? roll switch
                {
                    < 0.35 => ("get", HttpMethod.Get, "contacts/" + target.Id, null),
                    < 0.55 => ("list", HttpMethod.Get, random.Next(2) == 0 ? "contacts" : "contacts?tag=load", null),
                    < 0.75 => ("create", HttpMethod.Post, "contacts", NewContact(random)),
                    < 0.85 => ("update", HttpMethod.Put, "contacts/" + target.Id, (object?)new { name = "Updated " + random.Next(), tags = new[] { "load", "t" + random.Next(5) } }),
                    _ => ("send", HttpMethod.Post, "messages/send", new { to = target.Phone, type = "template", template = new { name = "hello_world", language = "en_US" } }),
                }
                : roll < 0.5
                    ? ("create", HttpMethod.Post, "contacts", NewContact(random))
                    : ("update", HttpMethod.Put, "contacts/" + target.Id, (object?)new { name = "Updated " + random.Next(), stage = "s" + random.Next(4) });
            using var response = await host.SendAsync(method, path, key, body).ConfigureAwait(false);
            await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            return (kind, (int)response.StatusCode);
        });
    }

    /// <summary>
    /// What storage alone costs a contact write at this concurrency: the same writers at the same pace, each an insert
    /// transaction of <see cref="FloorRows"/> fresh rows (a contact, its pointer, three index rows, an outbox event) in
    /// one partition of a table of its own (dropped afterwards, so that it does not slow the phases that follow), with no
    /// counters, no reads and no HTTP.
    /// </summary>
    private static async Task<Result> FloorAsync(BenchHost host, int writers, TimeSpan duration, double pace)
    {
        // A table of its own, dropped afterwards: its rows must not slow the phases that follow.
        var table = await host.Services.GetRequiredService<StorageAccount>().GetTableAsync("floor" + Guid.NewGuid().ToString("N")[..8]).ConfigureAwait(false);
        var partition = "floor";
        try
        {
            return await PacedAsync(writers, duration, pace, async (_, _, _) =>
            {
                var id = Guid.NewGuid().ToString("N");
                var rows = Enumerable.Range(0, FloorRows).Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition, $"x{i}_{id}") { ["Name"] = "Floor " + id, ["Count"] = 1L }));
                var response = await table.SubmitTransactionAsync(rows).ConfigureAwait(false);
                return ("insert", response.GetRawResponse().Status);
            }).ConfigureAwait(false);
        }
        finally
        {
            await table.DeleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <paramref name="clients"/> clients for <paramref name="duration"/>, each taking its next request no sooner than its
    /// keys allow (a key at most <see cref="PerKeyPerMinute"/> a minute, times <paramref name="pace"/>); latencies measured at the client.
    /// </summary>
    private static async Task<Result> PacedAsync(int clients, TimeSpan duration, double pace, Func<int, int, Random, Task<(string Kind, int Status)>> request)
    {
        var reads = new ConcurrentBag<double>();
        var byKind = new ConcurrentDictionary<string, ConcurrentBag<double>>(StringComparer.Ordinal);
        var writes = new ConcurrentBag<double>();
        var statuses = new ConcurrentDictionary<int, int>();
        var clock = Stopwatch.StartNew();

        using var conflicts = new ConflictCount();
        var spacing = TimeSpan.FromMinutes(1) / (PerKeyPerMinute * KeysPerClient * pace);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
        {
            var random = new Random(Random.Shared.Next());
            var nextAt = TimeSpan.FromMilliseconds(random.Next(0, (int)spacing.TotalMilliseconds));
            for (var n = 0; clock.Elapsed < duration; n++)
            {
                if (nextAt > clock.Elapsed)
                {
                    await Task.Delay(nextAt - clock.Elapsed).ConfigureAwait(false);
                }

                nextAt += spacing;
                var started = Stopwatch.GetTimestamp();
                var (kind, status) = await request(client, n, random).ConfigureAwait(false);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                (kind is "get" or "list" ? reads : writes).Add(elapsed);
                byKind.GetOrAdd(kind, _ => []).Add(elapsed);
                statuses.AddOrUpdate(status, 1, (_, c) => c + 1);
            }
        })).ConfigureAwait(false);
        clock.Stop();
        return new Result([.. reads.Order()], [.. writes.Order()], clock.Elapsed, new Dictionary<int, int>(statuses), conflicts.Count,
            byKind.ToDictionary(k => k.Key, k => k.Value.Order().ToArray(), StringComparer.Ordinal));
    }

    private static object NewContact(Random random) => new
    {
        phone_number = "+1312" + random.Next(2_000_000, 9_999_999).ToString(CultureInfo.InvariantCulture),
        name = "New " + random.Next(),
        tags = new[] { "load", "t" + random.Next(5) },
        stage = "s" + random.Next(4),
    };

    private static void Print(string name, Result r)
    {
        var total = r.Reads.Length + r.Writes.Length;
        var fivexx = r.Statuses.Where(s => s.Key >= 500).Sum(s => s.Value);
        var codes = string.Join(", ", r.Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"));
        Console.WriteLine(name);
        if (r.Reads.Length == 0)
        {
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "  {0:N0} requests in {1:F1} s = {2:F1} req/s; writes p50 {3:F0} ms p99 {4:F0} ms; 5xx {5}; statuses {6}; conflict retries {7} ({8:F3} a write)",
                total, r.Elapsed.TotalSeconds, total / r.Elapsed.TotalSeconds, Measure.Percentile(r.Writes, 0.5), Measure.Percentile(r.Writes, 0.99), fivexx, codes,
                r.Conflicts, (double)r.Conflicts / Math.Max(1, r.Writes.Length)));
            return;
        }

        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "  {0:N0} requests in {1:F1} s = {2:F1} req/s; reads n={3} p50 {4:F0} ms p99 {5:F0} ms; writes n={6} p50 {7:F0} ms p99 {8:F0} ms; writes p99 / reads p99 = {9:F2} (target <= 3); 5xx {10}; statuses {11}; conflict retries {12} ({13:F3} a write)",
            total, r.Elapsed.TotalSeconds, total / r.Elapsed.TotalSeconds,
            r.Reads.Length, Measure.Percentile(r.Reads, 0.5), Measure.Percentile(r.Reads, 0.99),
            r.Writes.Length, Measure.Percentile(r.Writes, 0.5), Measure.Percentile(r.Writes, 0.99),
            Measure.Percentile(r.Writes, 0.99) / Measure.Percentile(r.Reads, 0.99), fivexx, codes,
            r.Conflicts, (double)r.Conflicts / Math.Max(1, r.Writes.Length)));
        Console.WriteLine("  by kind: " + string.Join("; ", r.ByKind.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k =>
            string.Format(CultureInfo.InvariantCulture, "{0} n={1} p50 {2:F0} p99 {3:F0} ms", k.Key, k.Value.Length, Measure.Percentile(k.Value, 0.5), Measure.Percentile(k.Value, 0.99)))));
    }

    private sealed record Result(double[] Reads, double[] Writes, TimeSpan Elapsed, Dictionary<int, int> Statuses, long Conflicts, Dictionary<string, double[]> ByKind);

    /// <summary>Counts the host's optimistic-write conflicts (<see cref="OptimisticRetry.ConflictsName"/>) while it listens.</summary>
    private sealed class ConflictCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public ConflictCount()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == OptimisticRetry.MeterName && instrument.Name == OptimisticRetry.ConflictsName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
