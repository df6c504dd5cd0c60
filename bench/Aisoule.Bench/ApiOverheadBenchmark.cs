using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>
/// Issues 5 and 19: what the API adds on top of the storage call it wraps. Authenticated <c>GET /contacts/{id}</c>
/// over real HTTP (auth, rate-limit admission with the seed's limits, contact read, envelope), spread over many keys
/// so the limiter admits every request, against the bare SDK point read of the same contact row; then page 1 of
/// <c>GET /contacts</c> against the bare range query it is built on (the first 21 contact rows). Same count and
/// concurrency for each pair, in the same run.
/// </summary>
internal static class ApiOverheadBenchmark
{
    private static readonly string[] Tags = ["bench"];

    public static async Task RunAsync(int keyCount, int requests, int concurrency)
    {
        // Each key may take 10 a second and 100 a minute; round-robin over enough keys stays under both.
        // Two measured API phases and the warm-ups, all within about a minute.
        if ((2 * requests) + (2 * keyCount) > keyCount * 90)
        {
            throw new ArgumentException($"{requests} requests (twice) over {keyCount} keys would exceed 100 per key per minute; use more keys.");
        }

        await using var host = await BenchHost.StartAsync().ConfigureAwait(false);
        var (workspaceId, userId, firstKey) = await host.NewWorkspaceWithOwnerAsync().ConfigureAwait(false);

        var keys = await host.MoreKeysAsync(workspaceId, userId, keyCount - 1).ConfigureAwait(false);
        keys.Insert(0, firstKey);

        var contactIds = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            using var response = await host.SendAsync(HttpMethod.Post, "contacts", keys[^(i + 1)], new
            {
                phone_number = "+1212" + (3_000_000 + i).ToString(CultureInfo.InvariantCulture),
                name = $"Reader {i}",
                tags = Tags,
            }).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            var data = (await response.Content.ReadFromJsonAsync<JsonElement>().ConfigureAwait(false)).GetProperty("data");
            contactIds.Add(data.GetProperty("id").GetString()!);
        }

        var table = await host.Services.GetRequiredService<StorageAccount>().GetTableAsync("contacts").ConfigureAwait(false);
        Task BareAsync(int i) => table.GetEntityAsync<ContactEntity>(workspaceId, ContactKeys.Contact(contactIds[i % contactIds.Count]));
        async Task ApiAsync(int i)
        {
            using var response = await host.SendAsync(HttpMethod.Get, "contacts/" + contactIds[i % contactIds.Count], keys[i % keys.Count]).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"GET /contacts answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
            }
        }

        async Task BareListAsync(int i)
        {
            var filter = TableKeys.PrefixFilter(workspaceId, ContactKeys.ContactPrefix);
            await foreach (var page in table.QueryAsync<ContactEntity>(filter, maxPerPage: 21).AsPages().ConfigureAwait(false))
            {
                break;
            }
        }

        async Task ApiListAsync(int i)
        {
            using var response = await host.SendAsync(HttpMethod.Get, "contacts?per_page=20", keys[i % keys.Count]).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"GET /contacts answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
            }
        }

        // What the API's path is made of, each alone: the HTTP round trip through the host with no storage call (the
        // catch-all's 404), and the admitting write (the key row replaced on its ETag, as the limiter does).
        async Task HttpOnlyAsync(int i)
        {
            using var response = await host.Client.GetAsync("nothing-here").ConfigureAwait(false);
        }

        var keyTable = await host.Services.GetRequiredService<StorageAccount>().GetTableAsync("apikeys").ConfigureAwait(false);
        var keyRows = new List<TableEntity>();
        async Task KeyWriteAsync(int i)
        {
            // Round-robin over every key: two writes of one row are never in flight together.
            var row = keyRows[i % keyRows.Count];
            var answer = await keyTable.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace).ConfigureAwait(false);
            row.ETag = answer.Headers.ETag!.Value;
        }

        // Warm every path: one request per key (each instance learns each key once, as a long-running one has).
        await Measure.RunAsync("warm-up", keys.Count, concurrency, ApiAsync).ConfigureAwait(false);
        await Measure.RunAsync("warm-up", keys.Count, concurrency, ApiListAsync).ConfigureAwait(false);
        await Measure.RunAsync("warm-up", 500, concurrency, BareAsync).ConfigureAwait(false);
        await Measure.RunAsync("warm-up", 500, concurrency, BareListAsync).ConfigureAwait(false);
        await Measure.RunAsync("warm-up", 500, concurrency, HttpOnlyAsync).ConfigureAwait(false);

        // Same count and concurrency for each pair, one after the other.
        var bare = await Measure.RunAsync("bare SDK point read (contact row)", requests, concurrency, BareAsync).ConfigureAwait(false);
        var api = await Measure.RunAsync($"GET /api/contacts/{{id}} ({keyCount} keys)", requests, concurrency, i => ApiAsync(i + 1)).ConfigureAwait(false);
        var bareList = await Measure.RunAsync("bare SDK range query (21 contact rows)", requests, concurrency, BareListAsync).ConfigureAwait(false);
        var apiList = await Measure.RunAsync($"GET /api/contacts page 1 ({keyCount} keys)", requests, concurrency, i => ApiListAsync(i + 2)).ConfigureAwait(false);
        var httpOnly = await Measure.RunAsync("bare HTTP through the host, no storage (404)", requests, concurrency, HttpOnlyAsync).ConfigureAwait(false);
        // Read after the API's requests, which write these rows.
        await foreach (var row in keyTable.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}")).ConfigureAwait(false))
        {
            keyRows.Add(row);
        }

        var keyWrite = await Measure.RunAsync("bare SDK admitting write (key row on ETag)", requests, concurrency, KeyWriteAsync).ConfigureAwait(false);

        // The best a read beside its admission can do here: both storage calls at once, nothing else.
        var both = await Measure.RunAsync("bare SDK admitting write + point read at once", requests, concurrency, i => Task.WhenAll(KeyWriteAsync(i), BareAsync(i))).ConfigureAwait(false);
        Console.WriteLine(Measure.Row.Header);
        Console.WriteLine(httpOnly);
        Console.WriteLine(keyWrite);
        Console.WriteLine(both);
        Console.WriteLine(bare);
        Console.WriteLine(api);
        Console.WriteLine(bareList);
        Console.WriteLine(apiList);
        Console.WriteLine(Ratio("GET /contacts/{id} / point read", api, bare));
        Console.WriteLine(Ratio("GET /contacts page 1 / range query", apiList, bareList));
    }

    private static string Ratio(string name, Measure.Row api, Measure.Row bare) => string.Format(CultureInfo.InvariantCulture,
        "{0}: p50 {1:F2}x (target <= 2x), throughput {2:F2} (target >= 0.5)", name, api.P50 / bare.P50, api.PerSecond / bare.PerSecond);
}
