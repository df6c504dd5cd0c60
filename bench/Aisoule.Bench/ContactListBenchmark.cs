using System.Diagnostics;
using System.Globalization;
using Aisoule.Core.Contacts;
using Aisoule.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>
/// Issue 4: page 1 of <c>GET /contacts</c> (and of a tag filter) in a workspace of 100 contacts against one of
/// 100,000, over real HTTP. An index-backed list with a counter total should not care how big the workspace is.
/// </summary>
internal static class ContactListBenchmark
{
    public static async Task RunAsync(int small, int large, int requests, int concurrency)
    {
        // The seed's rate limits hold; requests rotate over enough keys that the limiter admits them all.
        await using var host = await BenchHost.StartAsync().ConfigureAwait(false);
        var (smallWorkspace, smallUser, smallKey) = await host.NewWorkspaceWithOwnerAsync().ConfigureAwait(false);
        var (largeWorkspace, largeUser, largeKey) = await host.NewWorkspaceWithOwnerAsync().ConfigureAwait(false);
        var keys = new Dictionary<string, List<string>>
        {
            [smallKey] = await host.MoreKeysAsync(smallWorkspace, smallUser, 40).ConfigureAwait(false),
            [largeKey] = await host.MoreKeysAsync(largeWorkspace, largeUser, 40).ConfigureAwait(false),
        };
        await SeedAsync(host, smallKey, small, "small").ConfigureAwait(false);
        await SeedAsync(host, largeKey, large, "large").ConfigureAwait(false);

        var cases = new (string Name, string Key, string Path)[]
        {
            ($"GET /contacts page 1, {small:N0} contacts", smallKey, "contacts?per_page=20"),
            ($"GET /contacts page 1, {large:N0} contacts", largeKey, "contacts?per_page=20"),
            ($"GET /contacts?tag=odd page 1, {small:N0}", smallKey, "contacts?tag=odd&per_page=20"),
            ($"GET /contacts?tag=odd page 1, {large:N0}", largeKey, "contacts?tag=odd&per_page=20"),
            ($"GET /contacts?search=Person 1234, {large:N0}", largeKey, "contacts?search=Person%201234&per_page=20"),
        };
        foreach (var (_, key, path) in cases)
        {
            await Measure.RunAsync("warm-up", 50, concurrency, i => GetAsync(host, keys[key][i % 40], path)).ConfigureAwait(false);
        }

        // The storage floor: the one range query page 1 is built on, straight through the SDK.
        var table = await host.Services.GetRequiredService<StorageAccount>().GetTableAsync("contacts").ConfigureAwait(false);
        Console.WriteLine(Measure.Row.Header);
        foreach (var (label, workspace, count) in new[] { ("small", smallWorkspace, small), ("large", largeWorkspace, large) })
        {
            Console.WriteLine(await Measure.RunAsync($"bare SDK: first 21 contact rows, {count:N0}", requests, concurrency,
                _ => FirstRowsAsync(table, workspace)).ConfigureAwait(false));
        }

        foreach (var (name, key, path) in cases)
        {
            Console.WriteLine(await Measure.RunAsync(name, requests, concurrency, i => GetAsync(host, keys[key][i % 40], path)).ConfigureAwait(false));
        }
    }

    private static async Task FirstRowsAsync(TableClient table, string workspaceId)
    {
        var filter = TableKeys.PrefixFilter(workspaceId, ContactKeys.ContactPrefix);
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: 21).AsPages().ConfigureAwait(false))
        {
            break;
        }
    }

    private static async Task GetAsync(BenchHost host, string key, string path)
    {
        using var response = await host.SendAsync(HttpMethod.Get, path, key).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    private static async Task SeedAsync(BenchHost host, string key, int count, string label)
    {
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < count; start += 1000)
        {
            var items = Enumerable.Range(start, Math.Min(1000, count - start)).Select(i => new
            {
                phone_number = "+1212" + (2_000_000 + i).ToString(CultureInfo.InvariantCulture),
                name = $"Person {i}",
                tags = new[] { i % 2 == 0 ? "even" : "odd" },
            });
            using var response = await host.SendAsync(HttpMethod.Post, "contacts/bulk", key, new { contacts = items }).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }

        Console.WriteLine($"seeded {count:N0} contacts ({label}) in {clock.Elapsed.TotalSeconds:F1} s");
    }
}
