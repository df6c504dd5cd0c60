using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisoule.Core.Contacts;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging;

/// <summary>
/// <c>POST /messages/send</c>: every refusal the spec lists is decided here, at request time; what is accepted is
/// stored as <c>queued</c>, put on the <c>sends</c> queue, and answered 202. Also the reads of messages.
/// </summary>
public sealed class MessageService(
    StorageAccount storage,
    ContactService contacts,
    WhatsAppAccountService accounts,
    TemplateService templates,
    TimeProvider clock,
    PendingSends? pending = null,
    Microsoft.Extensions.Logging.ILogger<MessageService>? logger = null)
{
    public static readonly TimeSpan ServiceWindow = TimeSpan.FromHours(24);
    public static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(24);
    private static readonly TimeSpan ReplayWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most characters <c>template.components</c> or <c>interactive</c> may take in the stored payload
    /// (<see cref="PayloadChars"/>). With every other field at its limit (text 4,096, caption 1,024, filename 240, url
    /// 2,000, template name 512, each character escaped) the payload stays under the 32,768 characters of one property.
    /// </summary>
    public const int MaxStructuredChars = 28_000;

    // Meta's body is stored as written: compact, with the default (HTML-safe) escapes of System.Text.Json.
    private static readonly JsonSerializerOptions PayloadJson = JsonSerializerOptions.Default;

    /// <summary>How many characters a JSON value takes in a stored payload: compact, every non-ASCII character a <c>\uXXXX</c> escape.</summary>
    public static int PayloadChars(JsonElement element) => StoredSize.JsonChars(element, PayloadJson);

    public async Task<Outcome<(SendAccepted Accepted, bool Replayed)>> SendAsync(string workspaceId, SendDraft draft, string? idempotencyKey, ReadOnlyMemory<byte> rawBody, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);

        // Bounded in stored size before anything is written, the key's claim included.
        if (PayloadTooLarge(workspaceId, draft) is { } tooLarge)
        {
            return tooLarge;
        }

        if (idempotencyKey is null)
        {
            var once = await AcceptAsync(workspaceId, draft, MessageKeys.NewId(clock.GetUtcNow()), new StrongBox<bool>(), cancellationToken).ConfigureAwait(false);
            return once.Succeeded ? (once.Value!, false) : once.Error!;
        }

        var idempotency = await storage.GetTableAsync(MessagingNames.Idempotency, cancellationToken).ConfigureAwait(false);
        var keyHash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(idempotencyKey)));
        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(rawBody.Span));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 0; ; round++)
        {
            var now = clock.GetUtcNow();
            var found = await idempotency.GetEntityIfExistsAsync<TableEntity>(workspaceId, keyHash, cancellationToken: cancellationToken).ConfigureAwait(false);
            var row = found.HasValue ? found.Value! : null;
            var live = row is not null && row.GetDateTimeOffset("CreatedAt") > now - IdempotencyWindow;
            if (!live)
            {
                // Claim the key: an atomic insert (or a replace of an expired record, guarded by its ETag).
                var claim = new TableEntity(workspaceId, keyHash) { ["BodyHash"] = bodyHash, ["MessageId"] = MessageKeys.NewId(now), ["CreatedAt"] = now };
                try
                {
                    if (row is null)
                    {
                        claim.ETag = (await idempotency.AddEntityAsync(claim, cancellationToken).ConfigureAwait(false)).Headers.ETag ?? ETag.All;
                    }
                    else
                    {
                        claim.ETag = (await idempotency.UpdateEntityAsync(claim, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false)).Headers.ETag ?? ETag.All;
                    }
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412)
                {
                    continue;
                }

                var accepted = await AcceptClaimedAsync(idempotency, claim, workspaceId, draft, cancellationToken).ConfigureAwait(false);
                return accepted.Succeeded ? (accepted.Value!, false) : accepted.Error!;
            }

            if (!string.Equals(row!.GetString("BodyHash"), bodyHash, StringComparison.Ordinal))
            {
                return ApiError.Conflict("idempotency_key_reused", "This Idempotency-Key was already used with a different request body in the last 24 hours.");
            }

            // The same request again: answer what the first one was answered, once its message exists.
            var messageId = row.GetString("MessageId");
            if (await FindAsync(workspaceId, messageId, cancellationToken).ConfigureAwait(false) is { } message)
            {
                if (message.Status == MessageStatus.Queued && message.Attempts == 0 && now - message.CreatedAt > TimeSpan.FromSeconds(30))
                {
                    // The first request may have died between storing and enqueueing; the dispatcher ignores a duplicate.
                    // If the queue is away, the sweeper does it later: the send stays accepted.
                    try
                    {
                        await EnqueueAsync(new SendWork(workspaceId, messageId, 0), null, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (pending is not null)
                    {
                        if (logger is not null)
                        {
                            SweeperLog.EnqueueLeftToSweeper(logger, ex, messageId);
                        }
                    }
                }

                return (new SendAccepted(message.Id, MessageStatus.Queued, message.To, message.AccountId), true);
            }

            if (waited.Elapsed < ReplayWait)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * Math.Min(round + 1, 10)), cancellationToken).ConfigureAwait(false);
                continue;
            }

            // The first request never stored its message (it died, or is stuck): finish it here, under the same id. If
            // this ends without the message, the key is given back as for the first request (a dead claim would
            // otherwise hold it for 24 hours); a first request merely stuck for longer than ReplayWait would then
            // still store its message, but the same id cannot be stored twice.
            var finished = await AcceptClaimedAsync(idempotency, row, workspaceId, draft, cancellationToken).ConfigureAwait(false);
            if (finished.Succeeded)
            {
                return (finished.Value!, false);
            }

            if (finished.Error!.Code != "message_exists")
            {
                return finished.Error;
            }

            waited.Restart();
        }
    }

    public async Task<Outcome<MessageView>> GetAsync(string workspaceId, string id, CancellationToken cancellationToken) =>
        await FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is { } message
            ? MessageView.From(message)
            : ApiError.NotFound("No message with this id.");

    /// <summary>
    /// Newest first. No filter: the message rows of every partition merged by id, total from the count rows. By
    /// contact or by status: those index ranges read keys-only (both: their intersection), total = its size, then
    /// the page's rows by point read. The cost follows the matches and the page, never the workspace.
    /// </summary>
    public async Task<MessagePage> ListAsync(string workspaceId, string? contactId, string? status, int page, int perPage, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var skip = (page - 1) * perPage;
        if (contactId is null && status is null)
        {
            var counts = await Task.WhenAll(MessageKeys.AllPartitions(workspaceId).Select(async partition =>
            {
                long count = 0;
                await foreach (var row in table.QueryAsync<TableEntity>(Range(partition, MessageKeys.CountPrefix), select: ["Count"], cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    count += row.GetInt64("Count") ?? 0;
                }

                return count;
            })).ConfigureAwait(false);
            var rows = await NewestAsync(table, workspaceId, skip, perPage, cancellationToken).ConfigureAwait(false);
            return new MessagePage([.. rows.Select(MessageView.From)], counts.Sum(), page, perPage);
        }

        HashSet<string>? ids = null;
        if (contactId is not null)
        {
            ids = await IdsAsync(table, workspaceId, MessageKeys.ContactRange(Contacts.ContactKeys.Encode(contactId)), cancellationToken).ConfigureAwait(false);
        }

        if (status is not null)
        {
            var byStatus = await IdsAsync(table, workspaceId, MessageKeys.StatusRange(status), cancellationToken).ConfigureAwait(false);
            ids = ids is null ? byStatus : [.. ids.Intersect(byStatus)];
        }

        var ordered = ids!.Order(StringComparer.Ordinal).ToList();
        var found = await Task.WhenAll(ordered.Skip(skip).Take(perPage).Select(id => FindAsync(workspaceId, id, cancellationToken))).ConfigureAwait(false);
        return new MessagePage([.. found.Where(r => r is not null).Select(r => MessageView.From(r!))], ordered.Count, page, perPage);
    }

    /// <summary>
    /// Rows <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="take"/> of the workspace's messages
    /// by id (newest first): each partition is read in order, as far as the merge needs it. The first page reads
    /// its rows in that merge; a deeper page merges keys only, then reads just its own rows, which lie in one
    /// narrow key range per partition — so the skipped messages cost their keys, never their payloads.
    /// </summary>
    private static async Task<List<MessageEntity>> NewestAsync(TableClient table, string workspaceId, int skip, int take, CancellationToken cancellationToken)
    {
        // About twice a partition's even share of the rows before the page's end: one query each, usually.
        var pageSize = Math.Clamp((2 * (skip + take) / MessageKeys.Partitions) + 5, 1, 1000);
        if (skip == 0)
        {
            return await MergeAsync(
                MessageKeys.AllPartitions(workspaceId).Select(p => table.QueryAsync<MessageEntity>(Range(p, MessageKeys.MessagePrefix), maxPerPage: pageSize, cancellationToken: cancellationToken)),
                skip, take, cancellationToken).ConfigureAwait(false);
        }

        var keys = await MergeAsync(
            MessageKeys.AllPartitions(workspaceId).Select(p => table.QueryAsync<TableEntity>(Range(p, MessageKeys.MessagePrefix), maxPerPage: pageSize, select: ["RowKey"], cancellationToken: cancellationToken)),
            skip, take, cancellationToken).ConfigureAwait(false);
        var found = await Task.WhenAll(keys.Select(k => k.RowKey).GroupBy(key => MessageKeys.Partition(workspaceId, key)).Select(async run =>
        {
            var wanted = run.ToHashSet(StringComparer.Ordinal);
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {run.Key} and RowKey ge {run.First()} and RowKey le {run.Last()}");
            var rows = new List<MessageEntity>(wanted.Count);
            await foreach (var row in table.QueryAsync<MessageEntity>(filter, maxPerPage: wanted.Count, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (wanted.Contains(row.RowKey))
                {
                    rows.Add(row);
                }
            }

            return rows;
        })).ConfigureAwait(false);
        var byKey = found.SelectMany(rows => rows).ToDictionary(row => row.RowKey, StringComparer.Ordinal);
        return [.. keys.Select(k => byKey.GetValueOrDefault(k.RowKey)).OfType<MessageEntity>()];
    }

    /// <summary>Rows <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="take"/> of sorted ranges merged by row key.</summary>
    private static async Task<List<T>> MergeAsync<T>(IEnumerable<AsyncPageable<T>> ranges, int skip, int take, CancellationToken cancellationToken)
        where T : class, ITableEntity
    {
        var cursors = ranges.Select(r => r.GetAsyncEnumerator(cancellationToken)).ToList();
        var heads = new PriorityQueue<IAsyncEnumerator<T>, string>(StringComparer.Ordinal);
        var taken = new List<T>(take);
        try
        {
            await Task.WhenAll(cursors.Select(async c =>
            {
                if (await c.MoveNextAsync().ConfigureAwait(false))
                {
                    lock (heads)
                    {
                        heads.Enqueue(c, c.Current.RowKey);
                    }
                }
            })).ConfigureAwait(false);
            for (var position = 0; position < skip + take && heads.TryDequeue(out var next, out _); position++)
            {
                if (position >= skip)
                {
                    taken.Add(next.Current);
                }

                if (await next.MoveNextAsync().ConfigureAwait(false))
                {
                    heads.Enqueue(next, next.Current.RowKey);
                }
            }
        }
        finally
        {
            foreach (var cursor in cursors)
            {
                await cursor.DisposeAsync().ConfigureAwait(false);
            }
        }

        return taken;
    }

    private static async Task<HashSet<string>> IdsAsync(TableClient table, string workspaceId, string prefix, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await Task.WhenAll(MessageKeys.AllPartitions(workspaceId).Select(async partition =>
        {
            await foreach (var row in table.QueryAsync<TableEntity>(Range(partition, prefix), maxPerPage: 1000, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                lock (ids)
                {
                    ids.Add(row.RowKey[prefix.Length..]);
                }
            }
        })).ConfigureAwait(false);
        return ids;
    }

    private static string Range(string partition, string prefix) =>
        TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {prefix} and RowKey lt {MessageKeys.After(prefix)}");

    public async Task<MessageEntity?> FindAsync(string workspaceId, string id, CancellationToken cancellationToken)
    {
        if (!MessageKeys.IsId(id))
        {
            return null;
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<MessageEntity>(MessageKeys.Partition(workspaceId, id), MessageKeys.Message(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value : null;
    }

    public async Task EnqueueAsync(SendWork work, TimeSpan? delay, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var queue = await storage.GetQueueAsync(MessagingNames.SendsQueue, cancellationToken).ConfigureAwait(false);
        await queue.SendMessageAsync(work.ToJson(), visibilityTimeout: delay is { } d && d > TimeSpan.Zero ? Min(d, TimeSpan.FromDays(6)) : null, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Accepts a send under its claimed Idempotency-Key (<paramref name="claim"/>, with the ETag it was claimed or read
    /// with), and gives the key back on every ending that did not store the message: a refusal, a 4xx/5xx, an exception.
    /// Only an accepted send is remembered, so the caller's corrected retry is not a 409 for 24 hours.
    /// </summary>
    private async Task<Outcome<SendAccepted>> AcceptClaimedAsync(TableClient idempotency, TableEntity claim, string workspaceId, SendDraft draft, CancellationToken cancellationToken)
    {
        // The claim is kept whenever the message row may exist: deleting it then would let another body take the key
        // while this message is (or may be) on its way, and a retry of this body could no longer find and answer it.
        // AcceptAsync says when that point is passed (see there); before it, nothing of the send was written.
        var mayBeStored = new StrongBox<bool>();
        Outcome<SendAccepted> accepted;
        try
        {
            accepted = await AcceptAsync(workspaceId, draft, claim.GetString("MessageId"), mayBeStored, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!mayBeStored.Value)
        {
            await ReleaseAsync(idempotency, claim).ConfigureAwait(false);
            throw;
        }

        if (!accepted.Succeeded && !mayBeStored.Value)
        {
            await ReleaseAsync(idempotency, claim).ConfigureAwait(false);
        }

        return accepted;
    }

    /// <summary>
    /// The checks, then the message row (an atomic insert under <paramref name="messageId"/>), then the queue.
    /// <paramref name="mayBeStored"/> turns true as soon as the message row may exist: once its transaction has been
    /// sent and not definitely refused. From then on the send counts as accepted for its Idempotency-Key, even if
    /// enqueueing then fails (the stored message is found and re-enqueued by the retry, see <see cref="SendAsync"/>).
    /// </summary>
    private async Task<Outcome<SendAccepted>> AcceptAsync(string workspaceId, SendDraft draft, string messageId, StrongBox<bool> mayBeStored, CancellationToken cancellationToken)
    {
        var account = await accounts.ResolveAsync(workspaceId, draft.AccountId, cancellationToken).ConfigureAwait(false);
        if (!account.Succeeded)
        {
            return account.Error!;
        }

        if (account.Value!.Status != AccountStatus.Connected)
        {
            return new ApiError(422, "account_disconnected", "Account disconnected");
        }

        var now = clock.GetUtcNow();
        var contact = await contacts.FindByPhoneAsync(workspaceId, draft.To, cancellationToken).ConfigureAwait(false);
        if (draft.IsTemplate)
        {
            // A name too long for a template's row key (a 512-character name, escaped) was never stored by a sync, and
            // Azure may answer a read with an over-long key with a 400 rather than "not found": don't ask.
            var template = TemplateEntity.KeyOf(account.Value.RowKey, draft.Template!.Name, draft.Template.Language).Length > StoredSize.MaxKeyChars
                ? null
                : await templates.FindAsync(workspaceId, account.Value.RowKey, draft.Template.Name, draft.Template.Language, cancellationToken).ConfigureAwait(false);
            if (template is not { IsApproved: true })
            {
                return new ApiError(422, "template_not_approved", "Template not approved");
            }

            if (template.IsMarketing && contact is { OptedIn: false })
            {
                return new ApiError(422, "contact_opted_out", "This contact has opted out of marketing messages.");
            }

            if (contact is null)
            {
                var ensured = await contacts.EnsureAsync(workspaceId, draft.To, null, cancellationToken).ConfigureAwait(false);
                if (!ensured.Succeeded)
                {
                    return ensured.Error!;
                }

                contact = ensured.Value!;
            }
        }
        else if (contact?.LastInboundAt is not { } lastInbound || now - lastInbound > ServiceWindow)
        {
            return new ApiError(422, "outside_service_window", "Outside service window");
        }

        var partition = MessageKeys.Partition(workspaceId, messageId);
        var message = new MessageEntity
        {
            PartitionKey = partition,
            RowKey = MessageKeys.Message(messageId),
            Id = messageId,
            ContactId = contact!.Id,
            To = draft.To,
            Type = draft.Type,
            AccountId = account.Value.RowKey,
            PhoneNumberId = account.Value.PhoneNumberId,
            PayloadJson = Payload(workspaceId, messageId, draft),
            Status = MessageStatus.Queued,
            CreatedAt = now,
        };
        var byContact = new TableEntity(partition, MessageKeys.ByContact(Contacts.ContactKeys.Encode(contact.Id), messageId));
        var byStatus = new TableEntity(partition, MessageKeys.ByStatus(MessageStatus.Queued, messageId));
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);

        // Before the message can exist, its marker for the sweeper: if the queue write below never happens (the
        // queue is down, this process dies), the sweeper enqueues the message once the marker is due.
        var mark = pending is null ? null : await pending.MarkAsync(workspaceId, messageId, cancellationToken).ConfigureAwait(false);

        // The message, its index rows and one of its partition's count rows: one transaction, so the count is
        // exact. A count row someone else just moved fails the ETag; try again on another.
        for (var attempt = 0; ; attempt++)
        {
            var shard = await CountShardAsync(table, partition, Random.Shared.Next(MessageKeys.CountShards), cancellationToken).ConfigureAwait(false);
            try
            {
                await TableBatch.SubmitAsync(table, [new(TableTransactionActionType.Add, message), new(TableTransactionActionType.Add, byContact), new(TableTransactionActionType.Add, byStatus), shard], cancellationToken).ConfigureAwait(false);
                mayBeStored.Value = true;
                break;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && attempt < 50)
            {
                if (ex.Status == 409 && await FindAsync(workspaceId, messageId, cancellationToken).ConfigureAwait(false) is not null)
                {
                    // Stored by an earlier request under this id: that one was accepted.
                    mayBeStored.Value = true;
                    return ApiError.Conflict("message_exists", "This message was already accepted.");
                }

                if (attempt > 3)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 10)), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (!IsDefinitelyNotApplied(ex))
            {
                // No answer (a timeout, a lost connection, a cancellation) or a server error: the transaction may have
                // been applied without our hearing of it, so the message may exist. Read it back: stored means
                // accepted (a 202, and it is sent); not stored means the error is answered and the marker goes, so
                // nothing is sent later. Only if that read fails too does the marker stay, for the caller's retry.
                mayBeStored.Value = true;
                if (await StoredAfterAllAsync(workspaceId, messageId).ConfigureAwait(false) is not { } stored)
                {
                    throw;
                }

                if (!stored)
                {
                    if (mark is not null)
                    {
                        await pending!.ClearAsync(mark).ConfigureAwait(false);
                    }

                    throw;
                }

                break;
            }
        }

        // Stored: the send is accepted, whatever happens to the queue write. Not the caller's token (a caller who
        // leaves now still has a stored send), and a failure is left to the sweeper rather than answered as an error.
        try
        {
            await EnqueueAsync(new SendWork(workspaceId, messageId, 0), null, CancellationToken.None).ConfigureAwait(false);
            if (mark is not null)
            {
                await pending!.ClearAsync(mark).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (mark is not null)
        {
            if (logger is not null)
            {
                SweeperLog.EnqueueLeftToSweeper(logger, ex, messageId);
            }
        }

        return new SendAccepted(messageId, MessageStatus.Queued, draft.To, account.Value.RowKey);
    }

    /// <summary>After a write with no clear answer: does the message exist? Null when storage cannot tell either.</summary>
    private async Task<bool?> StoredAfterAllAsync(string workspaceId, string messageId)
    {
        try
        {
            return await FindAsync(workspaceId, messageId, CancellationToken.None).ConfigureAwait(false) is not null;
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageFailures.IsUnavailable(ex))
        {
            return null;
        }
    }

    /// <summary>
    /// Did this exception from submitting a transaction come with the certainty that nothing was written? Checked before
    /// sending (our own size and partition rules), or refused by storage with a 4xx (a transaction is all or nothing).
    /// </summary>
    private static bool IsDefinitelyNotApplied(Exception exception) =>
        exception is StoredSizeExceededException or ArgumentException or RequestFailedException { Status: >= 400 and < 500 };

    /// <summary>The 400 naming the field whose stored payload would not fit one Table Storage property, if any.</summary>
    private static ApiError? PayloadTooLarge(string workspaceId, SendDraft draft)
    {
        if (Payload(workspaceId, MessageKeys.NewId(DateTimeOffset.UnixEpoch), draft).Length <= StoredSize.MaxStringChars)
        {
            return null;
        }

        return ApiError.Validation(draft.IsTemplate ? "template.components" : draft.Type, "Too large to store with the rest of the message. See the limits in the README.");
    }

    /// <summary>The body for Meta's <c>/messages</c>; <c>biz_opaque_callback_data</c> brings our ids back on every status.</summary>
    internal static string Payload(string workspaceId, string messageId, SendDraft draft)
    {
        var body = new JsonObject
        {
            ["messaging_product"] = "whatsapp",
            ["recipient_type"] = "individual",
            ["to"] = draft.To.TrimStart('+'),
            ["type"] = draft.Type,
            ["biz_opaque_callback_data"] = Callback(workspaceId, messageId),
        };
        switch (draft.Type)
        {
            case "text":
                body["text"] = new JsonObject { ["body"] = draft.Text, ["preview_url"] = draft.Text!.Contains("https://", StringComparison.OrdinalIgnoreCase) };
                break;
            case "template":
                var template = new JsonObject { ["name"] = draft.Template!.Name, ["language"] = new JsonObject { ["code"] = draft.Template.Language } };
                if (draft.Template.Components is { ValueKind: JsonValueKind.Array } components)
                {
                    template["components"] = JsonNode.Parse(components.GetRawText());
                }

                body["template"] = template;
                break;
            case "interactive":
                body["interactive"] = JsonNode.Parse(draft.Interactive!.Value.GetRawText());
                break;
            default:
                var media = new JsonObject { ["link"] = draft.Media!.Url };
                if (draft.Media.Caption is { } caption && draft.Type != "audio")
                {
                    media["caption"] = caption;
                }

                if (draft.Media.Filename is { } filename && draft.Type == "document")
                {
                    media["filename"] = filename;
                }

                body[draft.Type] = media;
                break;
        }

        return body.ToJsonString(PayloadJson);
    }

    /// <summary>The action that adds one to a count shard: an update guarded by its ETag, or its first insert.</summary>
    private static async Task<TableTransactionAction> CountShardAsync(TableClient table, string partition, int shard, CancellationToken cancellationToken)
    {
        var row = await table.GetEntityIfExistsAsync<TableEntity>(partition, MessageKeys.CountShard(shard), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue
            ? new(TableTransactionActionType.UpdateReplace, new TableEntity(partition, MessageKeys.CountShard(shard)) { ["Count"] = (row.Value!.GetInt64("Count") ?? 0) + 1 }, row.Value.ETag)
            : new(TableTransactionActionType.Add, new TableEntity(partition, MessageKeys.CountShard(shard)) { ["Count"] = 1L });
    }

    internal static string Callback(string workspaceId, string messageId) => workspaceId + " " + messageId;

    internal static (string WorkspaceId, string MessageId)? ParseCallback(string? callback) =>
        callback?.Split(' ') is [{ Length: > 0 } w, var m] && MessageKeys.IsId(m) ? (w, m) : null;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Gives an Idempotency-Key back: deletes the claim if it is still the one we hold (its ETag).</summary>
    private static async Task ReleaseAsync(TableClient idempotency, TableEntity claim)
    {
        try
        {
            // Not the caller's token: a cancelled request still frees its key.
            await idempotency.DeleteEntityAsync(claim.PartitionKey, claim.RowKey, claim.ETag, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageFailures.IsUnavailable(ex))
        {
            // Gone or taken again already; or storage is away, and the claim ends with its 24 hours. The retry of
            // the same body still finishes it (SendAsync), only another body waits.
        }
    }

    private Task<TableClient> TableAsync(CancellationToken cancellationToken) => storage.GetTableAsync(MessagingNames.Messages, cancellationToken);
}

/// <summary>One page of messages.</summary>
public sealed record MessagePage(IReadOnlyList<MessageView> Messages, long Total, int Page, int PerPage);
