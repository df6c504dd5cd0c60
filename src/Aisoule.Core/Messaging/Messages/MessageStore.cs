using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging.Messages;

/// <summary>
/// Reads a message row, and the one primitive by which <see cref="MessageLifecycle"/> (the only writer of message
/// rows) changes one: read, change, write back guarded by the ETag, with its outbox event in the same transaction.
/// The event's row key is derived from what caused it (a wamid and a status), so a cause seen twice is refused by the
/// insert and changes nothing the second time.
/// </summary>
public sealed class MessageStore(StorageAccount storage, TimeProvider clock, Webhooks.OutboxRelay? outbox = null)
{
    /// <summary>
    /// The count rows of each message partition: the workspace's message count (<see cref="MessageKeys.CountPrefix"/>)
    /// and its campaigns' stats (<see cref="Campaigns.CampaignKeys.Stat"/>), moved inside the transactions that change what they count.
    /// </summary>
    internal CounterShards Counts { get; } = new(MessageKeys.CountShards);

    /// <summary>What <see cref="ChangeAsync"/> did.</summary>
    public enum Result
    {
        Changed,
        Unchanged,
        AlreadyApplied,
        Missing,
    }

    /// <summary>The message with this id, or null (also for anything that is not a message id).</summary>
    public async Task<MessageEntity?> FindAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        if (!MessageKeys.IsId(id))
        {
            return null;
        }

        var table = await storage.GetTableAsync(MessagingNames.Messages, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<MessageEntity>(MessageKeys.Partition(workspaceId, id), MessageKeys.Message(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value : null;
    }

    /// <summary>Which workspace and message a WhatsApp message id belongs to (its pointer row), or null.</summary>
    public async Task<(string WorkspaceId, string MessageId)?> FindByWamidAsync(string wamid, CancellationToken cancellationToken = default)
    {
        var wamids = await storage.GetTableAsync(MessagingNames.Wamids, cancellationToken).ConfigureAwait(false);
        var row = await wamids.GetEntityIfExistsAsync<WamidEntity>(TableKeys.Encode(wamid), "", cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? (row.Value!.WorkspaceId, row.Value.MessageId) : null;
    }

    /// <summary>
    /// Applies <paramref name="mutate"/> (false: nothing to change) until it lands on the current row. With
    /// <paramref name="eventKey"/>, the event row is inserted in the same transaction; if it exists already the
    /// change was applied before and nothing is written.
    /// </summary>
    /// <remarks>
    /// Every write carries this call's own <see cref="MessageEntity.WriteId"/>. When a write is refused as stale (412)
    /// or its event as existing (409), it may be the storage client's retry of that very write, which landed while its
    /// answer was lost; the row is read back, and finding this call's id there means the change is done (the row read
    /// is returned as changed), so no transition is decided twice or given up as someone else's.
    /// </remarks>
    internal async Task<(Result Result, MessageEntity? Message)> ChangeAsync(
        string workspaceId,
        string messageId,
        Func<MessageEntity, bool> mutate,
        string? eventKey,
        string? eventName,
        MessageEntity? current = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        var table = await storage.GetTableAsync(MessagingNames.Messages, cancellationToken).ConfigureAwait(false);
        var partition = MessageKeys.Partition(workspaceId, messageId);
        var oldIndexMissing = false;
        var writeId = MessageKeys.NewWriteId();
        var outcome = await OptimisticRetry.RunAsync<(Result, MessageEntity?)>(async attempt =>
        {
            // The caller's copy (with its ETag) saves a read; if it is stale the write fails and the row is read.
            MessageEntity before;
            if (attempt.IsFirst && current is not null && current.ETag != default)
            {
                before = current;
            }
            else
            {
                var found = await table.GetEntityIfExistsAsync<MessageEntity>(partition, MessageKeys.Message(messageId), cancellationToken: cancellationToken).ConfigureAwait(false);
                if (!found.HasValue)
                {
                    return (Result.Missing, null);
                }

                before = found.Value!;
                if (before.WriteId == writeId)
                {
                    // An earlier try of this call landed; its answer was lost.
                    return (Result.Changed, before);
                }
            }

            var after = before.Clone();
            if (!mutate(after))
            {
                return (Result.Unchanged, before);
            }

            after.WriteId = writeId;
            var statusMoved = before.Status != after.Status;
            var (recipient, deltas) = Campaigns.CampaignLedger.Change(before, after, clock.GetUtcNow());
            if (eventKey is null && !statusMoved && recipient is null)
            {
                // A 412 (someone else changed it first) goes again on the row as it is now.
                var single = await table.UpdateEntityAsync(after, before.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                after.ETag = single.Headers.ETag ?? default;
                return (Result.Changed, after);
            }

            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpdateReplace, after, before.ETag) };
            if (statusMoved)
            {
                // The status index moves in the same transaction, so "by status" lists and totals stay exact.
                if (!oldIndexMissing)
                {
                    actions.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, MessageKeys.ByStatus(before.Status, messageId)), ETag.All));
                }

                actions.Add(new(TableTransactionActionType.UpsertReplace, new TableEntity(partition, MessageKeys.ByStatus(after.Status, messageId))));
            }

            if (eventKey is not null)
            {
                OutboxEvent.Create(partition, eventKey, eventName!, MessageView.From(after), clock.GetUtcNow()).AddTo(actions);
            }

            if (recipient is { } recipientChange)
            {
                // A campaign's message: its recipient and the campaign's stats move with it (CampaignLedger).
                actions.Add(recipientChange);
            }

            try
            {
                var response = deltas.Count > 0
                    ? await Counts.SubmitAsync(table, partition, actions, deltas, cancellationToken).ConfigureAwait(false)
                    : await TableBatch.SubmitAsync(table, actions, cancellationToken).ConfigureAwait(false);
                // Without an ETag in the answer, the next change through this copy reads the row first.
                after.ETag = response.Value[0].Headers.ETag ?? default;
                return (Result.Changed, after);
            }
            // The event row is the batch's only insert besides a new count row (after the caller's actions), so a conflict
            // before those means this cause was applied before.
            catch (TableTransactionFailedException ex) when (ex.Status == 409 && eventKey is not null && !(ex.FailedTransactionActionIndex >= actions.Count))
            {
                // Unless it is this call's own event, written by a try whose answer was lost.
                var now = await table.GetEntityIfExistsAsync<MessageEntity>(partition, MessageKeys.Message(messageId), cancellationToken: cancellationToken).ConfigureAwait(false);
                return now.HasValue && now.Value!.WriteId == writeId ? (Result.Changed, now.Value) : (Result.AlreadyApplied, before);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 404)
            {
                // The update is guarded by an ETag on a row just read, so a 404 is the old status index row missing (a
                // row changed outside this store): go again without deleting it. A 412: someone else moved the message
                // first; either way the loop decides again on what it is now.
                oldIndexMissing = true;
                throw;
            }
        }, gaveUp: () => throw new InvalidOperationException($"Message {messageId} kept changing under every attempt to change it."), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (eventKey is not null && outcome.Item1 == Result.Changed)
        {
            await EventWrittenAsync(partition, workspaceId, cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>Tells the webhooks' relay that an event was written to <paramref name="partition"/> of <c>messages</c>.</summary>
    internal Task EventWrittenAsync(string partition, string workspaceId, CancellationToken cancellationToken) =>
        outbox?.NotifyAsync(MessagingNames.Messages, partition, workspaceId, cancellationToken) ?? Task.CompletedTask;
}
