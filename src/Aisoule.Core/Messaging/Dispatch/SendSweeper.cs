using System.Globalization;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Aisoule.Core.WhatsApp;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Messaging.Dispatch;

/// <summary>
/// Table <c>pendingsends</c>: one small marker per send whose queue message is not known to exist yet. The request
/// writes it before the message row and deletes it once the queue message is written, so only the sends whose
/// enqueue failed (the queue was down, the process died in between) keep one — the table holds the stuck work and
/// nothing else. Partition: the minute the marker comes due (<c>WhatsApp:SweepAfter</c> after it was written) and a
/// hex digit of the message id, so the sweeper reads the due ones with one range query over the partition keys, and
/// the writes of one minute spread over 16 partitions. Row: workspace and message id.
/// </summary>
/// <remarks>
/// Why not the <c>s_queued_</c> index rows: they are per workspace partition, so finding them needs every
/// workspace's 16 partitions read on every sweep — a cost that follows the number of workspaces, not the stuck
/// sends. The marker costs the request an insert and a delete (neither in the dispatcher's path).
/// </remarks>
public sealed class PendingSends(StorageAccount storage, IOptionsMonitor<WhatsAppOptions> options, TimeProvider clock)
{
    public const string Table = "pendingsends";
    private const string BucketFormat = "yyyyMMddHHmm";

    /// <summary>Written before the message row (a replace: a retry under the same id writes it again).</summary>
    public async Task<PendingMark> MarkAsync(string workspaceId, string messageId, CancellationToken cancellationToken = default)
    {
        var due = clock.GetUtcNow() + options.CurrentValue.SweepAfter;
        var mark = new PendingMark(Bucket(due) + "_" + messageId[^1], workspaceId + " " + messageId);
        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        await table.UpsertEntityAsync(new TableEntity(mark.PartitionKey, mark.RowKey)
        {
            ["WorkspaceId"] = workspaceId,
            ["MessageId"] = messageId,
            ["DueAt"] = due,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return mark;
    }

    /// <summary>The queue message exists (or the message never will): the marker goes. Best effort; never the caller's token.</summary>
    public async Task<bool> ClearAsync(PendingMark mark)
    {
        ArgumentNullException.ThrowIfNull(mark);
        try
        {
            var table = await storage.GetTableAsync(Table, CancellationToken.None).ConfigureAwait(false);
            await table.DeleteEntityAsync(mark.PartitionKey, mark.RowKey, ETag.All, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageFailures.IsUnavailable(ex))
        {
            // Left for the sweeper, which finds the message on its way and deletes the marker then.
            return false;
        }
    }

    /// <summary>Markers due by now, oldest minute first.</summary>
    internal async IAsyncEnumerable<(PendingMark Mark, string WorkspaceId, string MessageId)> DueAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey lt {Bucket(now.AddMinutes(1))}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.GetDateTimeOffset("DueAt") is { } due && due <= now && row.GetString("WorkspaceId") is { Length: > 0 } workspaceId && row.GetString("MessageId") is { Length: > 0 } messageId)
            {
                yield return (new PendingMark(row.PartitionKey, row.RowKey), workspaceId, messageId);
            }
        }
    }

    private static string Bucket(DateTimeOffset at) => at.UtcDateTime.ToString(BucketFormat, CultureInfo.InvariantCulture);
}

/// <summary>The keys of one <see cref="PendingSends"/> marker.</summary>
public sealed record PendingMark(string PartitionKey, string RowKey);

/// <summary>
/// Timer <c>SweepSends</c>: finishes what a request left half done. A marker still there after <c>WhatsApp:SweepAfter</c>
/// means the queue message may never have been written: a <c>queued</c> message at attempt 0 is enqueued again (if its
/// queue message does exist after all, the dispatcher's ETag-guarded claim lets only one of the two send), a
/// <c>sending</c> one whose claim expired is settled as the dispatcher settles it (a <see cref="MessageLifecycle"/>
/// failure, <c>delivery_unknown</c>, never sent again), and anything else is past the dispatcher's door already, so the
/// marker just goes. A message that has been through the dispatcher (attempt above 0) is carried by the
/// dispatcher's own queue messages — its back-off delay included — and is never enqueued early from here.
/// </summary>
public sealed class SendSweeper(
    PendingSends pending,
    MessageStore store,
    SendEnqueuer enqueuer,
    SendDispatcher dispatcher,
    IOptionsMonitor<WhatsAppOptions> options,
    TimeProvider clock,
    ILogger<SendSweeper> logger)
{
    /// <summary>One pass; answers how many sends it put back on the queue or settled.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken = default)
    {
        var acted = 0;
        var due = new List<(PendingMark Mark, string WorkspaceId, string MessageId)>();
        await foreach (var item in pending.DueAsync(cancellationToken).ConfigureAwait(false))
        {
            due.Add(item);
        }

        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (item, ct) =>
        {
            try
            {
                if (await SweepOneAsync(item.Mark, item.WorkspaceId, item.MessageId, ct).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref acted);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The marker stays: the next pass tries again.
                logger.SweepFailed(ex, item.MessageId);
            }
        }).ConfigureAwait(false);
        return acted;
    }

    private async Task<bool> SweepOneAsync(PendingMark mark, string workspaceId, string messageId, CancellationToken cancellationToken)
    {
        var message = await store.FindAsync(workspaceId, messageId, cancellationToken).ConfigureAwait(false);
        var acted = false;
        if (message is { Status: MessageStatus.Queued, Attempts: 0 })
        {
            logger.SweptQueued(messageId);
            await enqueuer.EnqueueAsync(new SendWork(workspaceId, messageId, 0), null, cancellationToken).ConfigureAwait(false);
            acted = true;
        }
        else if (message is { Status: MessageStatus.Sending })
        {
            if (clock.GetUtcNow() - (message.ClaimedAt ?? message.CreatedAt) < options.CurrentValue.ClaimTimeout)
            {
                // Its dispatcher may still be calling Meta: look again on a later pass.
                return false;
            }

            acted = await dispatcher.SettleExpiredClaimAsync(message, cancellationToken).ConfigureAwait(false);
        }

        // No message (its insert never landed), or on its way, or finished.
        await pending.ClearAsync(mark).ConfigureAwait(false);
        return acted;
    }
}

/// <summary>The sweeper's log lines (and the request's, when it leaves a send to the sweeper).</summary>
internal static partial class SweeperLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} is stored but its queue message could not be written; the sweeper will enqueue it")]
    public static partial void EnqueueLeftToSweeper(this ILogger logger, Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} was still queued with no queue message known; enqueued again by the sweeper")]
    public static partial void SweptQueued(this ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping message {MessageId} failed; tried again on the next pass")]
    public static partial void SweepFailed(this ILogger logger, Exception exception, string messageId);
}
