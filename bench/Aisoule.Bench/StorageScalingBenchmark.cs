using System.Globalization;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;

namespace Aisoule.Bench;

/// <summary>
/// How the storage itself behaves as a table grows: a point read and a 20-row range query in a small
/// partition, before and after another partition of the same table receives many rows. On Azure both are
/// indexed by (PartitionKey, RowKey); this shows what the emulator does.
/// </summary>
internal static class StorageScalingBenchmark
{
    public static async Task RunAsync(int rows, int requests, int concurrency)
    {
        var table = new TableServiceClient(Azurite.ConnectionString).GetTableClient("scaling" + Guid.NewGuid().ToString("N")[..8]);
        await table.CreateIfNotExistsAsync().ConfigureAwait(false);
        await FillAsync(table, "small", 100).ConfigureAwait(false);

        Console.WriteLine(Measure.Row.Header);
        await ReportAsync(table, "table of 100 rows", requests, concurrency).ConfigureAwait(false);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await FillAsync(table, "large", rows).ConfigureAwait(false);
        Console.WriteLine($"(added {rows:N0} rows to another partition in {clock.Elapsed.TotalSeconds:F1} s)");
        await ReportAsync(table, $"table of {rows + 100:N0} rows", requests, concurrency).ConfigureAwait(false);
    }

    private static async Task ReportAsync(TableClient table, string label, int requests, int concurrency)
    {
        Console.WriteLine(await Measure.RunAsync($"point read, {label}", requests, concurrency,
            i => table.GetEntityAsync<TableEntity>("small", $"r{i % 100:D5}")).ConfigureAwait(false));
        Console.WriteLine(await Measure.RunAsync($"20-row range query, {label}", requests, concurrency, async _ =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {"small"} and RowKey ge {"r00010"} and RowKey lt {"r00030"}");
            await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: 20).AsPages().ConfigureAwait(false))
            {
                break;
            }
        }).ConfigureAwait(false));
    }

    private static async Task FillAsync(TableClient table, string partition, int rows)
    {
        var batches = Enumerable.Range(0, rows).Select(i => new TableTransactionAction(TableTransactionActionType.UpsertReplace,
            new TableEntity(partition, "r" + i.ToString("D5", CultureInfo.InvariantCulture)) { ["Payload"] = new string('x', 200) })).Chunk(100).ToList();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (batch, ct) =>
            await table.SubmitTransactionAsync(batch, ct).ConfigureAwait(false)).ConfigureAwait(false);
    }
}
