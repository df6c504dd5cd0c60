using Aisoule.Core.Storage;
using Azure.Data.Tables;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Commits a <see cref="ContactChange"/>: takes one counter shard for the write (<see cref="CounterShards"/>), moves
/// that shard of each counter the change moves, and submits everything as one transaction. A concurrent writer of the
/// same row makes it fail whole (412/409), never half: a conflict for <see cref="OptimisticRetry"/>, whose next
/// attempt takes a shard again. One per <see cref="ContactService"/>, so one per process.
/// </summary>
internal sealed class ContactWriter
{
    private readonly CounterShards _counters = new(CounterShards.ContactsDefault);

    public async Task CommitAsync(TableClient table, ContactChange change, CancellationToken cancellationToken = default)
    {
        using var lease = _counters.Take(change.WorkspaceId);
        var moves = await _counters.MoveAsync(table, change.WorkspaceId, lease.Shard, change.Counters, cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await TableBatch.SubmitAsync(table, [.. change.Actions, .. moves.Actions], cancellationToken).ConfigureAwait(false);
            _counters.Remember(moves, response.Value, change.Actions.Count);
        }
        catch (TableTransactionFailedException ex)
        {
            lease.Failed(ex, moves, change.Actions.Count);
            throw;
        }
    }
}
