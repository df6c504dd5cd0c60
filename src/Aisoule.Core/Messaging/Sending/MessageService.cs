using System.Runtime.CompilerServices;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.WhatsApp;
using Azure;
using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Messaging.Sending;

/// <summary>
/// <c>POST /messages/send</c>: the Idempotency-Key (<see cref="IdempotencyStore"/>), the rules
/// (<see cref="SendRules"/>), then the message stored as <c>queued</c> (<see cref="MessageLifecycle.CreateAsync"/>),
/// put on the <c>sends</c> queue (<see cref="SendEnqueuer"/>), and answered 202. A <see cref="PendingSends"/> marker,
/// written before the message can exist and cleared once its queue message is written, leaves a failed enqueue to the
/// <see cref="SendSweeper"/>: a stored send is accepted, whatever happens to the queue write.
/// </summary>
public sealed class MessageService(
    MessageStore store,
    MessageLifecycle lifecycle,
    SendEnqueuer enqueuer,
    IdempotencyStore idempotency,
    SendRules rules,
    TimeProvider clock,
    PendingSends? pending = null,
    ILogger<MessageService>? logger = null)
{
    private static readonly TimeSpan ReplayWait = TimeSpan.FromSeconds(5);

    public async Task<Outcome<(SendAccepted Accepted, bool Replayed)>> SendAsync(string workspaceId, SendDraft draft, string? idempotencyKey, ReadOnlyMemory<byte> rawBody, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);

        // Bounded in stored size before anything is written, the key's claim included.
        if (SendRules.PayloadTooLarge(workspaceId, draft) is { } tooLarge)
        {
            return tooLarge;
        }

        if (idempotencyKey is null)
        {
            return await AcceptAsync(workspaceId, draft, MessageKeys.NewId(clock.GetUtcNow()), new StrongBox<bool>(), cancellationToken).ConfigureAwait(false);
        }

        var keyHash = IdempotencyStore.HashKey(idempotencyKey);
        var bodyHash = IdempotencyStore.HashBody(rawBody.Span);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 0; ; round++)
        {
            var now = clock.GetUtcNow();
            var (state, record) = await idempotency.LookupAsync(workspaceId, keyHash, bodyHash, now, cancellationToken).ConfigureAwait(false);
            if (state == IdempotencyState.Free)
            {
                // Claim the key: an atomic insert (or a replace of an expired record, guarded by its ETag).
                if (await idempotency.ClaimAsync(workspaceId, keyHash, bodyHash, record, now, cancellationToken).ConfigureAwait(false) is not { } claim)
                {
                    continue;
                }

                return await AcceptClaimedAsync(claim, workspaceId, draft, cancellationToken).ConfigureAwait(false);
            }

            if (state == IdempotencyState.Reused)
            {
                return new ApiError(ErrorCodes.IdempotencyKeyReused, "This Idempotency-Key was already used with a different request body in the last 24 hours.");
            }

            // The same request again: answer what the first one was answered, once its message exists.
            var messageId = record!.MessageId;
            if (await store.FindAsync(workspaceId, messageId, cancellationToken).ConfigureAwait(false) is { } message)
            {
                if (message.Status == MessageStatus.Queued && message.Attempts == 0 && now - message.CreatedAt > TimeSpan.FromSeconds(30))
                {
                    // The first request may have died between storing and enqueueing; the dispatcher ignores a duplicate.
                    // If the queue is away, the sweeper does it later: the send stays accepted.
                    try
                    {
                        await enqueuer.EnqueueAsync(new SendWork(workspaceId, messageId, 0), null, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (pending is not null)
                    {
                        if (logger is not null)
                        {
                            SweeperLog.EnqueueLeftToSweeper(logger, ex, messageId);
                        }
                    }
                }

                return (new SendAccepted(message.Id, MessageStatus.Queued, message.To, message.AccountId, message.ContactId, message.UserId), true);
            }

            if (waited.Elapsed < ReplayWait)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * Math.Min(round + 1, 10)), cancellationToken).ConfigureAwait(false);
                continue;
            }

            // The first request never stored its message (it died, or is stuck): this one finishes it, under the same id.
            // First it takes the claim over (the record rewritten under its ETag): the first request gives its key back
            // only under the ETag it claimed with, so from now on it cannot delete the record while this message may
            // exist. Whichever of the two stores the message, the other finds it stored and answers it (a replay).
            if (await idempotency.TakeOverAsync(record, cancellationToken).ConfigureAwait(false) is null)
            {
                continue;
            }

            // Never given back, even if this ends without the message: the first request may still be storing it (if it
            // is only slow), and a key freed now would let a retry store a second message. The same body keeps finishing
            // it; another body is refused until the record's 24 hours are over.
            return await AcceptAsync(workspaceId, draft, messageId, new StrongBox<bool>(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Accepts a send under its claimed Idempotency-Key (<paramref name="claim"/>, with the ETag it was claimed with),
    /// and gives the key back on every ending that did not store the message: a refusal, a 4xx/5xx, an exception — under
    /// that ETag, so not once a later request has taken the claim over (<see cref="IdempotencyStore.TakeOverAsync"/>).
    /// Only an accepted send is remembered, so the caller's corrected retry is not a 409 for 24 hours.
    /// </summary>
    private async Task<Outcome<(SendAccepted Accepted, bool Replayed)>> AcceptClaimedAsync(IdempotencyRecord claim, string workspaceId, SendDraft draft, CancellationToken cancellationToken)
    {
        // The claim is kept whenever the message row may exist: deleting it then would let another body take the key
        // while this message is (or may be) on its way, and a retry of this body could no longer find and answer it.
        // MessageLifecycle.CreateAsync says when that point is passed; before it, nothing of the send was written.
        var mayBeStored = new StrongBox<bool>();
        Outcome<(SendAccepted Accepted, bool Replayed)> accepted;
        try
        {
            accepted = await AcceptAsync(workspaceId, draft, claim.MessageId, mayBeStored, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!mayBeStored.Value)
        {
            await idempotency.ReleaseAsync(claim).ConfigureAwait(false);
            throw;
        }

        if (!accepted.Succeeded && !mayBeStored.Value)
        {
            await idempotency.ReleaseAsync(claim).ConfigureAwait(false);
        }

        return accepted;
    }

    /// <summary>
    /// The rules, then the message row (an atomic insert under <paramref name="messageId"/>), then the queue.
    /// <paramref name="mayBeStored"/> turns true as soon as the message row may exist. From then on the send counts as
    /// accepted for its Idempotency-Key, even if enqueueing then fails (the stored message is found and re-enqueued by
    /// the retry, see <see cref="SendAsync"/>). If a concurrent duplicate (the same key and body) stored the message
    /// under this id first, this request answers that message: a replay.
    /// </summary>
    private async Task<Outcome<(SendAccepted Accepted, bool Replayed)>> AcceptAsync(string workspaceId, SendDraft draft, string messageId, StrongBox<bool> mayBeStored, CancellationToken cancellationToken)
    {
        var allowed = await rules.CheckAsync(workspaceId, draft, cancellationToken).ConfigureAwait(false);
        if (!allowed.Succeeded)
        {
            return allowed.Error!;
        }

        var (account, contact, recipient) = allowed.Value!;
        var stored = new NewMessage(workspaceId, messageId, contact.Id, recipient.Phone, contact.WaUserId, draft.Type, account.RowKey, account.PhoneNumberId, MetaPayload.Build(workspaceId, messageId, draft, recipient));

        // Before the message can exist, its marker for the sweeper: if the queue write below never happens (the
        // queue is down, this process dies), the sweeper enqueues the message once the marker is due.
        var mark = pending is null ? null : await pending.MarkAsync(workspaceId, messageId, cancellationToken).ConfigureAwait(false);
        MessageEntity? created;
        try
        {
            created = await lifecycle.CreateAsync(stored, mayBeStored, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (mayBeStored.Value)
        {
            // No clear answer: the transaction may have been applied without our hearing of it. Read it back: stored
            // means accepted (a 202, and it is sent); not stored means the error is answered and the marker goes, so
            // nothing is sent later. Only if that read fails too does the marker stay, for the caller's retry.
            var (known, found) = await StoredAfterAllAsync(workspaceId, messageId).ConfigureAwait(false);
            if (!known)
            {
                throw;
            }

            if (found is null)
            {
                if (mark is not null)
                {
                    await pending!.ClearAsync(mark).ConfigureAwait(false);
                }

                throw;
            }

            created = found;
        }

        if (created is null)
        {
            // Stored first by a concurrent duplicate under this id, which put it on the queue (or left its own marker
            // to the sweeper): this request answers that message.
            if (mark is not null)
            {
                await pending!.ClearAsync(mark).ConfigureAwait(false);
            }

            return (new SendAccepted(messageId, MessageStatus.Queued, recipient.Phone, account.RowKey, contact.Id, contact.WaUserId), true);
        }

        // Stored: the send is accepted, whatever happens to the queue write. Not the caller's token (a caller who
        // leaves now still has a stored send), and a failure is left to the sweeper rather than answered as an error.
        try
        {
            await enqueuer.EnqueueAsync(new SendWork(workspaceId, messageId, 0, created), null, CancellationToken.None).ConfigureAwait(false);
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

        return (new SendAccepted(messageId, MessageStatus.Queued, recipient.Phone, account.RowKey, contact.Id, contact.WaUserId), false);
    }

    /// <summary>After a write with no clear answer: whether storage could tell, and the message if it exists.</summary>
    private async Task<(bool Known, MessageEntity? Row)> StoredAfterAllAsync(string workspaceId, string messageId)
    {
        try
        {
            return (true, await store.FindAsync(workspaceId, messageId, CancellationToken.None).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageFailures.IsUnavailable(ex))
        {
            return (false, null);
        }
    }
}
