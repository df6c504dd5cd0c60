using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Commits a <see cref="ContactChange"/>: reads the counter rows it moves, adds their new values under ETags,
/// and submits everything as one transaction. A concurrent writer makes it fail whole (412/409), never half.
/// </summary>
internal static class ContactWriter
{
    public const string CountProperty = "Count";

    public static async Task CommitAsync(TableClient table, ContactChange change, CancellationToken cancellationToken)
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

    /// <summary>Did the transaction fail because a row it meant to add exists, or a row it read has changed?</summary>
    public static bool IsConflict(Exception exception) =>
        exception is TableTransactionFailedException { Status: 409 or 412 } or RequestFailedException { Status: 409 or 412 };

    /// <summary>The index of the action that failed, when storage says which.</summary>
    public static int FailedAction(Exception exception) =>
        exception is TableTransactionFailedException { FailedTransactionActionIndex: { } index } ? index : -1;

    /// <summary>Jittered back-off for the next attempt after a conflict.</summary>
    public static Task BackOffAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * Math.Min(attempt + 1, 10)), cancellationToken);
}
