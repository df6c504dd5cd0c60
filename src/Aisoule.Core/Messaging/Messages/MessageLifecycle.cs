using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Aisoule.Core.Json;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Storage;
using Aisoule.Core.Telemetry;
using Aisoule.Core.WhatsApp;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging.Messages;

/// <summary>One recipient to release (<see cref="MessageLifecycle.ReleaseAllAsync"/>): its message, and its row as read.</summary>
public sealed record Release(NewMessage Draft, string RecipientRowKey, ETag RecipientETag);

/// <summary>
/// The only writer of message rows: every insert and every change of a message's state is one of the named
/// transitions here, each a guarded write through <see cref="MessageStore.ChangeAsync"/> (or an atomic insert).
/// Who decides <em>when</em> (the request, the dispatcher, the webhook processor, <see cref="DeliveryPolicy"/>)
/// calls these; none of them writes a message row itself.
/// <code>
/// Create → queued ─Claim→ sending ─MarkSent→ sent ─ApplyStatus→ delivered → read
///            ↑              │ Requeue / GiveBack        (Fail from queued, sending or sent: failed;
///            └──────────────┘                           ApplyStatus revives a delivery_unknown failure)
/// </code>
/// </summary>
public sealed class MessageLifecycle(StorageAccount storage, MessageStore store, SendEnqueuer enqueuer, TimeProvider clock)
{
    /// <summary>The error of a message whose sending instance stopped before Meta's answer was recorded.</summary>
    public const string DeliveryUnknownCode = "delivery_unknown";

    // "Is this message finished?" has three answers because three different questions are asked. They live here,
    // together, so that each is answered one way everywhere.

    /// <summary>
    /// Nothing is left for the dispatcher to do: Meta took the message (sent or further) or it failed. Asked by the
    /// poison handler, which fails only what is still queued or sending.
    /// </summary>
    public static bool IsPastDispatch(MessageEntity message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Status == MessageStatus.Failed || MessageStatus.Rank(message.Status) >= MessageStatus.Rank(MessageStatus.Sent);
    }

    /// <summary>
    /// A failure may still be recorded: the message has not failed already and is not known delivered. A <c>sent</c>
    /// message may still fail (Meta reports <c>failed</c> after <c>sent</c>); a delivered one no longer can.
    /// </summary>
    public static bool MayFail(MessageEntity message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Status != MessageStatus.Failed && MessageStatus.Rank(message.Status) < MessageStatus.Rank(MessageStatus.Delivered);
    }

    /// <summary>
    /// Meta's delivery statuses (sent, delivered, read) still move the message: it has not failed, or its failure was
    /// only that we could not know (<see cref="DeliveryUnknownCode"/>), which Meta's status now settles.
    /// </summary>
    public static bool TakesDeliveryStatus(MessageEntity message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Status != MessageStatus.Failed || IsDeliveryUnknown(message);
    }

    private static bool IsDeliveryUnknown(MessageEntity message) => message.Status == MessageStatus.Failed && message.ErrorCode == DeliveryUnknownCode;

    /// <summary>
    /// Stores a new <c>queued</c> message with its index rows and one of its partition's count rows, in one transaction
    /// (an atomic insert under its id). The row as stored, with its ETag when storage gave one (for the queue message,
    /// <see cref="SendWork.Row"/>). Null: a message with this id was stored before by an earlier request (an insert of
    /// this call that landed though its answer was lost is recognised by its <see cref="MessageEntity.WriteId"/>).
    /// <paramref name="mayBeStored"/> turns true as soon as the row may exist: once its transaction has been sent and
    /// not definitely refused.
    /// </summary>
    public async Task<MessageEntity?> CreateAsync(NewMessage draft, StrongBox<bool> mayBeStored, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(mayBeStored);
        var message = NewRow(draft);
        var partition = message.PartitionKey;
        var byContact = new TableEntity(partition, MessageKeys.ByContact(TableKeys.Encode(draft.ContactId), draft.Id));
        var byStatus = new TableEntity(partition, MessageKeys.ByStatus(MessageStatus.Queued, draft.Id));
        var table = await storage.GetTableAsync(MessagingNames.Messages, cancellationToken).ConfigureAwait(false);

        // The message, its index rows and one of its partition's count rows: one transaction, so the count is
        // exact. A count row someone else just moved fails the ETag; try again on another.
        return await OptimisticRetry.RunAsync<MessageEntity?>(async attempt =>
        {
            try
            {
                var response = await store.Counts.SubmitAsync(table, partition, [new(TableTransactionActionType.Add, message), new(TableTransactionActionType.Add, byContact), new(TableTransactionActionType.Add, byStatus)], [new(MessageKeys.CountPrefix, 1)], cancellationToken).ConfigureAwait(false);
                mayBeStored.Value = true;
                message.ETag = response.Value[0].Headers.ETag ?? default;
                return message;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409)
            {
                if (await store.FindAsync(draft.WorkspaceId, draft.Id, cancellationToken).ConfigureAwait(false) is { } stored)
                {
                    // Stored already: by this call, if the storage client retried an insert that had landed (its answer
                    // lost), or else by an earlier request under this id, which was accepted.
                    mayBeStored.Value = true;
                    return stored.WriteId == message.WriteId ? stored : null;
                }

                // A count row another instance inserted first: go again (as for a 412, a count row just moved).
                throw;
            }
            catch (Exception ex) when (!IsDefinitelyNotApplied(ex))
            {
                // No answer (a timeout, a lost connection, a cancellation) or a server error: the transaction may have
                // been applied without our hearing of it, so the message may exist.
                mayBeStored.Value = true;
                throw;
            }
        }, gaveUp: () => throw new InvalidOperationException($"The count rows of {partition} kept changing under every attempt to store message {draft.Id}."), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A campaign recipient's message (<paramref name="draft"/>, with its campaign): stored as <c>queued</c> as
    /// <see cref="CreateAsync"/> stores one, and in the same transaction its recipient row (<paramref name="recipientRowKey"/>)
    /// moved from <c>pending</c> to <c>queued</c> under the ETag it was read with, and the campaign's stats moved
    /// (pending −1, queued +1). The recipient's ETag is the commit point: whoever moves it first creates the message,
    /// and a recipient is released once per round. The row as stored; null when the recipient was no longer as read
    /// (another step released or cancelled it), or when the message exists already (released before).
    /// </summary>
    public Task<MessageEntity?> ReleaseAsync(NewMessage draft, string recipientRowKey, ETag recipientETag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        return ReleaseOneAsync(draft, NewRow(draft), recipientRowKey, recipientETag, cancellationToken);
    }

    /// <summary>
    /// Several recipients released as <see cref="ReleaseAsync"/> releases one, those of a partition together: one
    /// transaction for up to <see cref="ReleasesPerTransaction"/> of them (and their stats, moved once), so a window costs
    /// a few storage calls rather than one per recipient. A transaction that fails on any one of its recipients (released
    /// or cancelled meanwhile) is done again one recipient at a time, so the others still go. The messages stored, in no
    /// particular order.
    /// </summary>
    public async Task<IReadOnlyList<MessageEntity>> ReleaseAllAsync(IReadOnlyList<Release> releases, int parallelism, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(releases);
        var table = await storage.GetTableAsync(MessagingNames.Messages, cancellationToken).ConfigureAwait(false);
        var chunks = releases.Select(r => (Release: r, Row: NewRow(r.Draft)))
            .GroupBy(r => r.Row.PartitionKey, StringComparer.Ordinal)
            .SelectMany(partition => Chunk(partition.ToList()))
            .ToList();
        var stored = new System.Collections.Concurrent.ConcurrentBag<MessageEntity>();
        await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (chunk, ct) =>
        {
            foreach (var message in await ReleaseChunkAsync(table, chunk, ct).ConfigureAwait(false))
            {
                stored.Add(message);
            }
        }).ConfigureAwait(false);
        return [.. stored];
    }

    /// <summary>Recipients per release transaction: four rows each, with three count rows, within a transaction's 100.</summary>
    public const int ReleasesPerTransaction = 24;

    /// <summary>A release transaction's rows stay under this many bytes of message (a transaction carries at most 4 MiB).</summary>
    private const int ReleaseBytesPerTransaction = 2 * 1024 * 1024;

    private static IEnumerable<List<(Release Release, MessageEntity Row)>> Chunk(List<(Release Release, MessageEntity Row)> partition)
    {
        var chunk = new List<(Release, MessageEntity)>();
        var bytes = 0L;
        foreach (var item in partition)
        {
            var size = StoredSize.EntityBytes(item.Row);
            if (chunk.Count > 0 && (chunk.Count == ReleasesPerTransaction || bytes + size > ReleaseBytesPerTransaction))
            {
                yield return chunk;
                (chunk, bytes) = ([], 0L);
            }

            chunk.Add(item);
            bytes += size;
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    private async Task<IReadOnlyList<MessageEntity>> ReleaseChunkAsync(TableClient table, List<(Release Release, MessageEntity Row)> chunk, CancellationToken cancellationToken)
    {
        if (chunk.Count > 1)
        {
            var partition = chunk[0].Row.PartitionKey;
            var actions = chunk.SelectMany(item => ReleaseActions(item.Release.Draft, item.Row, item.Release.RecipientRowKey, item.Release.RecipientETag)).ToList();
            var deltas = ReleaseDeltas([.. chunk.Select(item => item.Release.Draft)]);
            var together = await OptimisticRetry.RunAsync<bool>(async _ =>
            {
                try
                {
                    var response = await store.Counts.SubmitAsync(table, partition, actions, deltas, cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < chunk.Count; i++)
                    {
                        chunk[i].Row.ETag = response.Value[i * ReleaseActionCount].Headers.ETag ?? default;
                    }

                    return true;
                }
                catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex is { } index && index < actions.Count && ex.Status is 409 or 412 or 404)
                {
                    // One of them was released or cancelled meanwhile (or a try of this transaction landed unheard):
                    // each is decided on its own below.
                    return false;
                }
            }, gaveUp: () => false, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (together)
            {
                return [.. chunk.Select(item => item.Row)];
            }
        }

        var stored = new List<MessageEntity>();
        foreach (var (release, row) in chunk)
        {
            if (await ReleaseOneAsync(release.Draft, row, release.RecipientRowKey, release.RecipientETag, cancellationToken).ConfigureAwait(false) is { } message)
            {
                stored.Add(message);
            }
        }

        return stored;
    }

    private const int ReleaseActionCount = 4;

    /// <summary>What releasing <paramref name="drafts"/> moves: the message count up, and each campaign's stats from pending to queued.</summary>
    private static List<KeyValuePair<string, long>> ReleaseDeltas(IReadOnlyList<NewMessage> drafts) =>
        [
            new(MessageKeys.CountPrefix, drafts.Count),
            .. drafts.GroupBy(d => d.CampaignId ?? throw new ArgumentException("A released message names its campaign.", nameof(drafts)), StringComparer.Ordinal)
                .SelectMany(c => new KeyValuePair<string, long>[] { new(Campaigns.CampaignKeys.Stat(c.Key, Campaigns.RecipientStatus.Pending), -c.Count()), new(Campaigns.CampaignKeys.Stat(c.Key, Campaigns.RecipientStatus.Queued), c.Count()) }),
        ];

    private static List<TableTransactionAction> ReleaseActions(NewMessage draft, MessageEntity message, string recipientRowKey, ETag recipientETag)
    {
        var partition = message.PartitionKey;
        var recipient = new TableEntity(partition, recipientRowKey) { ["Status"] = Campaigns.RecipientStatus.Queued, ["MessageId"] = draft.Id, ["UpdatedAt"] = message.CreatedAt };
        return
        [
            new(TableTransactionActionType.Add, message),
            new(TableTransactionActionType.Add, new TableEntity(partition, MessageKeys.ByContact(TableKeys.Encode(draft.ContactId), draft.Id))),
            new(TableTransactionActionType.Add, new TableEntity(partition, MessageKeys.ByStatus(MessageStatus.Queued, draft.Id))),
            new(TableTransactionActionType.UpdateMerge, recipient, recipientETag),
        ];
    }

    /// <param name="message">The row to store (<see cref="NewRow"/>): the same one for every try, so a try that landed unheard is known by its write id.</param>
    private async Task<MessageEntity?> ReleaseOneAsync(NewMessage draft, MessageEntity message, string recipientRowKey, ETag recipientETag, CancellationToken cancellationToken)
    {
        var partition = message.PartitionKey;
        var actions = ReleaseActions(draft, message, recipientRowKey, recipientETag);
        var deltas = ReleaseDeltas([draft]);
        var table = await storage.GetTableAsync(MessagingNames.Messages, cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<MessageEntity?>(async attempt =>
        {
            try
            {
                var response = await store.Counts.SubmitAsync(table, partition, actions, deltas, cancellationToken).ConfigureAwait(false);
                message.ETag = response.Value[0].Headers.ETag ?? default;
                return message;
            }
            catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex is { } index && index < actions.Count && ex.Status is 409 or 412 or 404)
            {
                // The message exists, or the recipient moved: released already (by this call, if the client retried a
                // transaction that landed; its message is then the one stored here), or cancelled meanwhile.
                return await store.FindAsync(draft.WorkspaceId, draft.Id, cancellationToken).ConfigureAwait(false) is { } stored && stored.WriteId == message.WriteId ? stored : null;
            }
        }, gaveUp: () => throw new InvalidOperationException($"The count rows of {partition} kept changing under every attempt to release message {draft.Id}."), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private MessageEntity NewRow(NewMessage draft) => new()
    {
        PartitionKey = MessageKeys.Partition(draft.WorkspaceId, draft.Id),
        RowKey = MessageKeys.Message(draft.Id),
        Id = draft.Id,
        ContactId = draft.ContactId,
        To = draft.To,
        UserId = draft.UserId,
        Type = draft.Type,
        AccountId = draft.AccountId,
        PhoneNumberId = draft.PhoneNumberId,
        PayloadJson = draft.PayloadJson,
        Status = MessageStatus.Queued,
        CreatedAt = clock.GetUtcNow(),
        WriteId = MessageKeys.NewWriteId(),
        CampaignId = draft.CampaignId,
    };

    /// <summary>
    /// <c>queued → sending</c> for <paramref name="attempt"/>: only the caller whose write lands calls the provider for
    /// it. The claimed row, or null when the message is no longer queued at that attempt.
    /// </summary>
    public async Task<MessageEntity?> ClaimAsync(MessageEntity message, int attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var claimedAt = clock.GetUtcNow();
        var (result, claimed) = await store.ChangeAsync(message.WorkspaceId, message.Id, m =>
        {
            if (m.Status != MessageStatus.Queued || m.Attempts != attempt)
            {
                return false;
            }

            m.Status = MessageStatus.Sending;
            m.Attempts++;
            m.ClaimedAt = claimedAt;
            return true;
        }, null, null, message, cancellationToken).ConfigureAwait(false);
        return result == MessageStore.Result.Changed ? claimed : null;
    }

    /// <summary>
    /// Meta accepted the claimed send: its wamid pointer, then <c>sending → sent</c> with the <c>message.sent</c> event
    /// (once per wamid, whichever of this and Meta's own <c>sent</c> status comes first).
    /// </summary>
    public async Task MarkSentAsync(MessageEntity claimed, string wamid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claimed);

        // The wamid pointer first: a status webhook that comes without our callback data still finds the message.
        var wamids = await storage.GetTableAsync(MessagingNames.Wamids, cancellationToken).ConfigureAwait(false);
        await wamids.UpsertEntityAsync(new WamidEntity { PartitionKey = TableKeys.Encode(wamid), WorkspaceId = claimed.WorkspaceId, MessageId = claimed.Id }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var (result, _) = await store.ChangeAsync(claimed.WorkspaceId, claimed.Id, m => Sent(m, wamid, now), MessageKeys.StatusEvent(wamid, MessageStatus.Sent), "message.sent", claimed, cancellationToken).ConfigureAwait(false);
        if (result == MessageStore.Result.AlreadyApplied)
        {
            // Meta's own "sent" status got here first and recorded the event: record the rest without it.
            await store.ChangeAsync(claimed.WorkspaceId, claimed.Id, m => Sent(m, wamid, now), null, null, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        // Once per claim Meta accepted, whichever of the two writes recorded it.
        AisouleTelemetry.MessageSent(claimed.WorkspaceId, now - claimed.CreatedAt);
    }

    private static bool Sent(MessageEntity m, string wamid, DateTimeOffset now)
    {
        var changed = m.Wamid != wamid || m.Status == MessageStatus.Sending || m.SentAt is null;
        m.Wamid = wamid;
        m.SentAt ??= now;
        m.ClaimedAt = null;
        if (m.Status == MessageStatus.Sending)
        {
            m.Status = MessageStatus.Sent;
        }

        return changed;
    }

    /// <summary>
    /// <c>sending → queued</c> for the next attempt, with its queue message visible after <paramref name="delay"/>: a
    /// failed attempt (<paramref name="countsAsFailure"/>) or a held one, remembering <paramref name="error"/>. Only
    /// while the message is still this claim.
    /// </summary>
    public async Task RequeueAsync(MessageEntity claimed, TimeSpan delay, bool countsAsFailure, MessageError? error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        var (result, requeued) = await store.ChangeAsync(claimed.WorkspaceId, claimed.Id, m =>
        {
            if (m.Status != MessageStatus.Sending || m.Attempts != claimed.Attempts)
            {
                return false;
            }

            m.Status = MessageStatus.Queued;
            m.ClaimedAt = null;
            m.Failures += countsAsFailure ? 1 : 0;
            (m.ErrorCode, m.ErrorTitle) = error is { } e ? (e.Code, e.Title) : (m.ErrorCode, m.ErrorTitle);
            return true;
        }, null, null, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result == MessageStore.Result.Changed)
        {
            await enqueuer.EnqueueAsync(new SendWork(requeued!.WorkspaceId, requeued.Id, requeued.Attempts, requeued), delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gives a claim back before Meta was called (no slot, or stopping): queued again, no attempt spent on failure.</summary>
    public Task GiveBackAsync(MessageEntity claimed, TimeSpan delay, CancellationToken cancellationToken = default) =>
        RequeueAsync(claimed, delay, countsAsFailure: false, null, cancellationToken);

    /// <summary>
    /// <c>→ failed</c> with <paramref name="error"/> and the <c>message.failed</c> event, if <see cref="MayFail"/> and
    /// <paramref name="only"/> (when given) agree on the current row. True if this call failed it.
    /// </summary>
    public async Task<bool> FailAsync(MessageEntity message, MessageError error, Func<MessageEntity, bool>? only = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(error);
        var now = clock.GetUtcNow();
        var (result, _) = await store.ChangeAsync(message.WorkspaceId, message.Id, m =>
        {
            if (!MayFail(m) || (only is not null && !only(m)))
            {
                return false;
            }

            m.Status = MessageStatus.Failed;
            m.ErrorCode = error.Code;
            m.ErrorTitle = error.Title;
            m.FailedAt = now;
            m.ClaimedAt = null;
            return true;
        }, MessageKeys.StatusEvent(message.Wamid ?? message.Id, MessageStatus.Failed), "message.failed", cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result != MessageStore.Result.Changed)
        {
            return false;
        }

        AisouleTelemetry.MessageFailed(message.WorkspaceId, error.Code);
        return true;
    }

    /// <summary>Records the wamid a webhook names, if the message has none yet; the current row, or null if there is no such message.</summary>
    public async Task<MessageEntity?> NoteWamidAsync(string workspaceId, string messageId, string wamid, CancellationToken cancellationToken = default)
    {
        var (result, message) = await store.ChangeAsync(workspaceId, messageId, m =>
        {
            m.Wamid ??= wamid;
            return true;
        }, null, null, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result == MessageStore.Result.Missing ? null : message;
    }

    /// <summary>
    /// Meta's <c>sent</c>, <c>delivered</c> or <c>read</c> for <paramref name="wamid"/>: its timestamps, and the status
    /// moved forward only (or out of a <see cref="DeliveryUnknownCode"/> failure), each (wamid, status) applied once.
    /// </summary>
    public async Task ApplyStatusAsync(string workspaceId, string messageId, string wamid, string status, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await store.ChangeAsync(workspaceId, messageId, m =>
        {
            m.Wamid ??= wamid;
            if (!TakesDeliveryStatus(m))
            {
                return false;
            }

            var unknown = IsDeliveryUnknown(m);
            m.SentAt ??= at;
            if (status == MessageStatus.Delivered || status == MessageStatus.Read)
            {
                m.DeliveredAt ??= at;
            }

            if (status == MessageStatus.Read)
            {
                m.ReadAt ??= at;
            }

            if (unknown || MessageStatus.Rank(status) > MessageStatus.Rank(m.Status))
            {
                m.Status = status;
                m.ClaimedAt = null;
                (m.ErrorCode, m.ErrorTitle, m.FailedAt) = unknown ? (null, null, null) : (m.ErrorCode, m.ErrorTitle, m.FailedAt);
            }

            return true;
        }, MessageKeys.StatusEvent(wamid, status), "message." + status, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores an inbound message and its <c>message.incoming</c> event, once per wamid (an atomic insert). False: seen
    /// before. The text is cut to what a string property holds (at a whole character, flagged <c>TextTruncated</c>),
    /// so whatever Meta sends is stored; the event keeps as much of it as fits (<see cref="EventData"/>).
    /// </summary>
    public async Task<bool> RecordInboundAsync(InboundMessage inbound, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inbound);
        var storedText = inbound.Text is null ? null : StoredSize.Cut(inbound.Text, StoredSize.MaxStringChars);
        var table = await storage.GetTableAsync(MessagingNames.Messages, cancellationToken).ConfigureAwait(false);
        var row = new TableEntity(inbound.WorkspaceId, MessageKeys.Inbound(inbound.Wamid))
        {
            ["Wamid"] = inbound.Wamid,
            ["From"] = inbound.From,
            ["FromUserId"] = inbound.FromUserId,
            ["Username"] = inbound.Username,
            ["ContactId"] = inbound.ContactId,
            ["Type"] = inbound.Type,
            ["Text"] = storedText,
            ["AccountId"] = inbound.AccountId,
            ["ReceivedAt"] = inbound.ReceivedAt,
        };
        if (storedText is not null && storedText.Length < inbound.Text!.Length)
        {
            row["TextTruncated"] = true;
        }

        var data = new IncomingEvent(inbound.Wamid, inbound.From, inbound.FromUserId, inbound.Username, inbound.ContactId, inbound.ContactName, inbound.Type, inbound.Text, inbound.AccountId);
        List<TableTransactionAction> actions = [new(TableTransactionActionType.Add, row)];
        OutboxEvent.CreateWithJson(inbound.WorkspaceId, MessageKeys.StatusEvent(inbound.Wamid, "incoming"), "message.incoming", EventData(data), clock.GetUtcNow()).AddTo(actions);
        try
        {
            await TableBatch.SubmitAsync(table, actions, cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 409)
        {
            return false;
        }

        await store.EventWrittenAsync(inbound.WorkspaceId, inbound.WorkspaceId, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// The event's JSON, at most one string property. The serialiser writes an emoji (a surrogate pair) as two
    /// <c>\uXXXX</c> escapes, 12 characters, so 4,096 emoji — a text Meta can send — would take 49,152; the pairs are
    /// written back as the characters themselves (valid JSON, the same value), 2 characters each, so any text of
    /// 4,096 code points fits whole. Only a longer text (not one Meta sends) is cut, at a whole character, to the
    /// longest that fits, with <c>text_truncated: true</c>.
    /// </summary>
    internal static string EventData(IncomingEvent data)
    {
        var json = Serialize(data);
        if (json.Length <= StoredSize.MaxStringChars || data.Text is not { } text)
        {
            return json;
        }

        var (fits, low, high) = (Serialize(data with { Text = "", TextTruncated = true }), 0, text.Length);
        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            var candidate = Serialize(data with { Text = StoredSize.Cut(text, middle), TextTruncated = true });
            if (candidate.Length <= StoredSize.MaxStringChars)
            {
                (fits, low) = (candidate, middle);
            }
            else
            {
                high = middle - 1;
            }
        }

        return fits;
    }

    private static string Serialize(IncomingEvent data) => MetaJson.UnescapedPairs(JsonSerializer.Serialize(data, AisouleJson.Options));

    /// <summary>
    /// Did this exception from submitting a transaction come with the certainty that nothing was written? Checked before
    /// sending (our own size and partition rules), or refused by storage with a 4xx (a transaction is all or nothing).
    /// </summary>
    private static bool IsDefinitelyNotApplied(Exception exception) =>
        exception is StoredSizeExceededException or ArgumentException or RequestFailedException { Status: >= 400 and < 500 };

    // `from` is null when Meta withholds the phone (a username user); `from_user_id` (the BSUID) is then always there.
    internal sealed record IncomingEvent(
        string MessageId,
        string? From,
        string? FromUserId,
        string? Username,
        string ContactId,
        string? ContactName,
        string Type,
        string? Text,
        string WhatsappAccountId,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool TextTruncated = false);
}

/// <summary>A send accepted at request time, to be stored as <c>queued</c> by <see cref="MessageLifecycle.CreateAsync"/>.</summary>
public sealed record NewMessage(string WorkspaceId, string Id, string ContactId, string? To, string? UserId, string Type, string AccountId, string PhoneNumberId, string PayloadJson, string? CampaignId = null);

/// <summary>
/// A message a contact sent, as <see cref="MessageLifecycle.RecordInboundAsync"/> stores it: <see cref="From"/> is the
/// sender's E.164 phone when Meta shares it, <see cref="FromUserId"/> their BSUID when Meta sends one; at least one is set.
/// </summary>
public sealed record InboundMessage(string WorkspaceId, string Wamid, string? From, string? FromUserId, string? Username, string? ContactName, string ContactId, string Type, string? Text, string AccountId, DateTimeOffset ReceivedAt);
