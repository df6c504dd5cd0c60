using Aisoule.Core.Storage;
using Azure.Data.Tables;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Commits a <see cref="ContactChange"/>: reads the counter rows it moves, adds their new values under ETags,
/// and submits everything as one transaction. A concurrent writer makes it fail whole (412/409), never half: a
/// conflict for <see cref="OptimisticRetry"/>.
/// </summary>
internal static class ContactWriter
{
    public const string CountProperty = "Count";

    public static async Task CommitAsync(TableClient table, ContactChange change, CancellationToken cancellationToken = default)
    {
        var actions = new List<TableTransactionAction>(change.Actions);
        var moved = change.Counters.Where(c => c.Value != 0).ToList();
        var current = await Task.WhenAll(moved.Select(c =>
            table.GetEntityIfExistsAsync<TableEntity>(change.WorkspaceId, c.Key, cancellationToken: cancellationToken))).ConfigureAwait(false);
        for (var i = 0; i < moved.Count; i++)
        {
            var (key, delta) = moved[i];
            if (current[i].HasValue)
            {
                var row = current[i].Value!;
                row[CountProperty] = (row.GetInt64(CountProperty) ?? 0) + delta;
                actions.Add(new(TableTransactionActionType.UpdateReplace, row, row.ETag));
            }
            else
            {
                actions.Add(new(TableTransactionActionType.Add, new TableEntity(change.WorkspaceId, key) { [CountProperty] = delta }));
            }
        }

        await TableBatch.SubmitAsync(table, actions, cancellationToken).ConfigureAwait(false);
    }
}
