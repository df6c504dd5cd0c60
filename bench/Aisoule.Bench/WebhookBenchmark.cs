using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Aisoule.Core.Storage;
using Aisoule.Core.Webhooks;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>
/// Issue 16 point 9: <c>events</c> outbox events of one workspace fanned out to <c>subscriptions</c> webhooks on a fast
/// loopback receiver, through the host's own relay and delivery queue: deliveries a second, event-to-delivery latency
/// (p50/p99, from the event's time to its arrival at the receiver), duplicates and losses; against the floor, a bare
/// HTTP POST loop of as many bodies to the same receiver at the same concurrency, in the same run.
/// </summary>
internal static class WebhookBenchmark
{
    private static readonly string[] Events = ["contact.created"];

    public static async Task RunAsync(int events, int subscriptions, int inFlight)
    {
        Console.WriteLine($"webhooks: {events:N0} events to {subscriptions} subscriptions (at most {inFlight} attempts in flight per webhook)");
        await using var receiver = await WebhookReceiver.StartAsync().ConfigureAwait(false);
        await using var host = await BenchHost.StartAsync(new Dictionary<string, string?>
        {
            ["environment"] = "Development",
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Webhooks:DefaultHostRate"] = "10000",
            ["Webhooks:MaxInFlightPerWebhook"] = inFlight.ToString(CultureInfo.InvariantCulture),
            ["RateLimiting:PerMinute"] = "2000",
            ["RateLimiting:PerSecond"] = "1000",
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
        }).ConfigureAwait(false);
        var (workspaceId, key) = await host.NewWorkspaceAsync().ConfigureAwait(false);
        for (var s = 0; s < subscriptions; s++)
        {
            using var subscribe = new HttpRequestMessage(HttpMethod.Post, "webhooks") { Content = JsonContent.Create(new { url = receiver.Url("s" + s), events = Events }) };
            subscribe.Headers.Add("X-API-Key", key);
            (await host.Client.SendAsync(subscribe).ConfigureAwait(false)).EnsureSuccessStatusCode();
        }

        // The events, as contact writes leave them (contact.created rows and their pending rows in the workspace's
        // partition of contacts), 50 a transaction, each transaction followed by the relay's nudge as a writer's is.
        var storage = host.Services.GetRequiredService<StorageAccount>();
        var relay = host.Services.GetRequiredService<OutboxRelay>();
        var contacts = await storage.GetTableAsync("contacts").ConfigureAwait(false);
        var sample = WebhookEvents.SampleData(WebhookEvents.ContactCreated, DateTimeOffset.UtcNow);
        await using var depth = new DepthSampler(host, WebhookDeliverer.Queue);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < events; i += 50)
        {
            var now = DateTimeOffset.UtcNow;
            var batch = new List<TableTransactionAction>();
            foreach (var n in Enumerable.Range(i, Math.Min(50, events - i)))
            {
                OutboxEvent.CreateWithJson(workspaceId, OutboxEvent.Prefix + now.UtcTicks.ToString("d19", CultureInfo.InvariantCulture) + "_" + n.ToString("d6", CultureInfo.InvariantCulture), WebhookEvents.ContactCreated, sample, now).AddTo(batch);
            }

            await TableBatch.SubmitAsync(contacts, batch).ConfigureAwait(false);
            await relay.NotifyAsync("contacts", workspaceId, workspaceId).ConfigureAwait(false);
        }

        var written = clock.Elapsed;
        var expected = events * subscriptions;
        var last = 0;
        var quiet = Stopwatch.StartNew();
        while (receiver.Requests.Count < expected && quiet.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(1000).ConfigureAwait(false);
            if (receiver.Requests.Count != last)
            {
                (last, quiet) = (receiver.Requests.Count, Stopwatch.StartNew());
                Console.WriteLine($"  ... {last:N0} of {expected:N0} deliveries, {clock.Elapsed.TotalSeconds:0} s, {depth.Last} messages in the deliveries queue");
            }
        }

        var got = receiver.Requests.ToList();
        var total = got.Count == 0 ? TimeSpan.Zero : got.Max(r => r.At) - got.Min(r => r.At);
        var pairs = got.GroupBy(r => (r.Path, r.Header("webhook-id"))).ToList();
        var dup = pairs.Sum(g => g.Count() - 1);
        var lost = expected - pairs.Count;
        var latencies = got.Select(r => (r.At - DateTimeOffset.Parse(JsonDocument.Parse(r.Body).RootElement.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture)).TotalMilliseconds).Order().ToList();
        double P(double q) => latencies.Count == 0 ? 0 : latencies[(int)Math.Min(latencies.Count - 1, q * latencies.Count)];
        var rate = got.Count / Math.Max(0.001, total.TotalSeconds);

        // The floor: the same number of POSTs of a delivery's body to the same receiver, as fast as it takes them.
        var body = got.Count > 0 ? got[0].Body : System.Text.Encoding.UTF8.GetBytes("{}");
        receiver.Requests.Clear();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 });
        var concurrency = inFlight * subscriptions;
        var floorClock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, expected), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (n, ct) =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            (await client.PostAsync(receiver.Url("s" + (n % subscriptions)), content, ct).ConfigureAwait(false)).Dispose();
        }).ConfigureAwait(false);
        var floor = expected / floorClock.Elapsed.TotalSeconds;

        Console.WriteLine();
        Console.WriteLine($"events written in {written.TotalSeconds:0.0} s ({events / written.TotalSeconds:0} events/s, 50 a transaction)");
        Console.WriteLine($"deliveries: {got.Count:N0} of {expected:N0} in {total.TotalSeconds:0.0} s: {rate:0.0}/s; duplicates {dup}, lost {lost}");
        Console.WriteLine($"deepest deliveries queue: {depth.Max} messages (up to {WebhookWork.MaxItems} deliveries each)");
        Console.WriteLine($"event to delivery: p50 {P(0.5):0} ms, p99 {P(0.99):0} ms, max {(latencies.Count == 0 ? 0 : latencies[^1]):0} ms");
        Console.WriteLine($"floor (bare HTTP POST loop, {concurrency} at once, same receiver): {floor:0}/s; deliveries at {100 * rate / floor:0.0} % of it");
    }
}
