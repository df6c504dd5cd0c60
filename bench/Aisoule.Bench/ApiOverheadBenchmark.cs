using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>
/// Issue 5: what the API adds on top of the storage call it wraps. Authenticated <c>GET /contacts/{id}</c> over
/// real HTTP (auth, rate-limit admission with the seed's limits, contact read, envelope), spread over many keys
/// so the limiter admits every request, against the bare SDK point read of the same contact row, at the same
/// concurrency, in the same run.
/// </summary>
internal static class ApiOverheadBenchmark
{
    private static readonly string[] Tags = ["bench"];

    public static async Task RunAsync(int keyCount, int requests, int concurrency)
    {
        // Each key may take 10 a second and 100 a minute; round-robin over enough keys stays under both.
        if (requests > keyCount * 90)
        {
            throw new ArgumentException($"{requests} requests over {keyCount} keys would exceed 100 per key per minute; use more keys.");
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

        // Warm both paths: one request per key (each instance learns each key once, as a long-running one has).
        await Measure.RunAsync("warm-up", keys.Count, concurrency, ApiAsync).ConfigureAwait(false);
        await Measure.RunAsync("warm-up", 500, concurrency, BareAsync).ConfigureAwait(false);

        // Same count and concurrency for both, one after the other.
        var bare = await Measure.RunAsync("bare SDK point read (contact row)", requests, concurrency, BareAsync).ConfigureAwait(false);
        var api = await Measure.RunAsync($"GET /api/contacts/{{id}} ({keyCount} keys)", requests, concurrency, i => ApiAsync(i + 1)).ConfigureAwait(false);
        Console.WriteLine(Measure.Row.Header);
        Console.WriteLine(bare);
        Console.WriteLine(api);
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "API / bare: p50 {0:F2}x (target <= 3x), throughput {1:F2} (target >= 0.33)", api.P50 / bare.P50, api.PerSecond / bare.PerSecond));
    }
}
