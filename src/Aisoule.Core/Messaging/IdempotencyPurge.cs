using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging;

/// <summary>
/// Removes Idempotency-Key records past their 24 hours. They already stop counting at 24 hours (a new request with
/// the key claims it afresh); this only keeps the table from growing. The table holds about a day of keyed sends,
/// so the scan is bounded by that, not by the history.
/// </summary>
public sealed class IdempotencyPurge(StorageAccount storage, TimeProvider clock)
{
    /// <summary>Deletes every record created before <c>now − 24 h</c>; returns how many went.</summary>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken) => await PurgeAsync(clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);

    internal async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(MessagingNames.Idempotency, cancellationToken).ConfigureAwait(false);
        var cutoff = now - MessageService.IdempotencyWindow;
        var expired = table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"CreatedAt lt {cutoff}"), maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken);
        var deleted = 0;
        await Parallel.ForEachAsync(expired, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (row, ct) =>
        {
            try
            {
                // Guarded by the ETag read: a record a new request has just re-claimed is left alone.
                await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, ct).ConfigureAwait(false);
                Interlocked.Increment(ref deleted);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Gone already, or claimed again since the query.
            }
        }).ConfigureAwait(false);
        return deleted;
    }
}
