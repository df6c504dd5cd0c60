using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Messaging;

/// <summary>
/// Runs one <c>sends</c> queue message. The queue delivers at least once; a message is sent at most once because
/// the provider is only called by whoever moved it from <c>queued</c> to <c>sending</c> with an ETag-guarded write,
/// for the attempt the queue message names. Every outcome ends in a stored state: sent, failed, or queued again
/// with a new queue message (back-off, pair limit, account held).
/// </summary>
public sealed class SendDispatcher(
    StorageAccount storage,
    MessageStore store,
    WhatsAppAccountService accounts,
    ContactService contacts,
    ThroughputGate gate,
    IWhatsAppProvider provider,
    MessageService messages,
    IOptionsMonitor<WhatsAppOptions> options,
    TimeProvider clock,
    ILogger<SendDispatcher> logger)
{
    public const string PoisonQueue = MessagingNames.SendsQueue + "-poison";
    private static readonly TimeSpan GateWait = TimeSpan.FromSeconds(20);
    private const string GaveUpCode = "dispatch_failed";
    private const string GaveUpTitle = "The message could not be sent after repeated errors.";
    private const string AccountDisconnectedCode = "account_disconnected";
    private const string AccountDisconnectedTitle = "Account disconnected";
    private const string DeliveryUnknownCode = "delivery_unknown";
    private const string DeliveryUnknownTitle = "The sending instance stopped before WhatsApp's answer was recorded; not resent to avoid a duplicate.";

    public async Task DispatchAsync(SendWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var o = options.CurrentValue;
        var message = await messages.FindAsync(work.WorkspaceId, work.MessageId, cancellationToken).ConfigureAwait(false);
        if (message is null)
        {
            logger.SendForUnknown(work.MessageId);
            return;
        }

        if (message.Status == MessageStatus.Sending && work.Attempt == message.Attempts - 1)
        {
            await CheckClaimAsync(message, work, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (message.Status == MessageStatus.Queued && work.Attempt == message.Attempts - 1)
        {
            // The previous attempt was put back, but its queue message may never have been written (storage failed
            // in between) or this one was released by a stopping host: it carries the message on as the new
            // attempt. If the new attempt's queue message exists too, the claim decides which one sends.
            work = work with { Attempt = message.Attempts };
        }

        if (message.Status != MessageStatus.Queued || message.Attempts != work.Attempt)
        {
            logger.SendSkipped(message.Id, work.Attempt, message.Status, message.Attempts);
            return;
        }

        var account = await accounts.GetRecentAsync(work.WorkspaceId, message.AccountId, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);

        // Only while it is still queued at this attempt: an instance that already sees the account connected again
        // may have claimed it meanwhile.
        bool StillQueued(MessageEntity m) => m.Status == MessageStatus.Queued && m.Attempts == work.Attempt;
        if (account is null || account.Status == AccountStatus.Removed)
        {
            await FailWhenAsync(message, StillQueued, AccountDisconnectedCode, AccountDisconnectedTitle, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (account.Status == AccountStatus.Disconnected)
        {
            // Held, not failed: the account may be connected again (a new token, or the re-check timer). No attempt
            // is spent; but a send does not wait longer than MaxDisconnectedHold after it was accepted.
            var held = clock.GetUtcNow() - message.CreatedAt;
            if (held >= o.MaxDisconnectedHold)
            {
                logger.HeldTooLong(message.Id, held);
                await FailWhenAsync(message, StillQueued, AccountDisconnectedCode, AccountDisconnectedTitle, cancellationToken).ConfigureAwait(false);
                return;
            }

            var left = o.MaxDisconnectedHold - held;
            await messages.EnqueueAsync(work, left < o.DisconnectedHold ? left : o.DisconnectedHold, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Whatever can fail without Meta being called comes before the claim, so such a failure leaves the message
        // queued for the queue's own retry instead of claimed (which, after a crash, must not be resent).
        var providerAccount = await accounts.ProviderAccountAsync(account, cancellationToken).ConfigureAwait(false);

        // The claim: only the instance whose write lands calls the provider for this attempt. Not cut off by a
        // stop: a claim that lands after its caller gave up would stay "sending" with nobody to give it back.
        var claimedAt = clock.GetUtcNow();
        var (claim, claimed) = await store.ChangeAsync(work.WorkspaceId, message.Id, m =>
        {
            if (m.Status != MessageStatus.Queued || m.Attempts != work.Attempt)
            {
                return false;
            }

            m.Status = MessageStatus.Sending;
            m.Attempts++;
            m.ClaimedAt = claimedAt;
            return true;
        }, null, null, CancellationToken.None, message).ConfigureAwait(false);
        if (claim != MessageStore.Result.Changed)
        {
            return;
        }

        // Everything else first: between the slot and the call to Meta there should be nothing but the call.
        using var payload = JsonDocument.Parse(claimed!.PayloadJson);
        bool admitted;
        try
        {
            admitted = await gate.AcquireAsync(claimed.PhoneNumberId, Math.Max(1, account.ThroughputMps), GateWait, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down while waiting for a slot: Meta has not been called, so the claim is given back.
            await RequeueAsync(claimed, TimeSpan.Zero, countsAsFailure: false, null, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex)
        {
            // The pacing row could not be reached: Meta has not been called, so the claim is given back. This
            // counts as a failed attempt with back-off (a busy schedule does not), so a lasting fault ends in "failed".
            logger.GateUnavailable(ex, claimed.Id);
            await RetryOrGiveUpAsync(claimed, Backoff(o, claimed.Failures), GaveUpCode, GaveUpTitle, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        if (!admitted)
        {
            // Not the stopping token: a stop that comes just now must not leave the claim "sending" (it would end as
            // delivery_unknown for a send that never reached Meta).
            await RequeueAsync(claimed, TimeSpan.FromSeconds(1), countsAsFailure: false, null, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        // From here the call is made and its answer recorded even if the host is stopping: an invocation cut off
        // here would leave the message "sending" with Meta's answer unknown. A graceful stop waits for it; the call
        // itself is bounded by the request timeout.
        SendResult result;
        using (var timeout = new CancellationTokenSource(o.RequestTimeout * 3))
        {
            try
            {
                result = await provider.SendAsync(providerAccount, payload.RootElement, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                result = SendResult.Failed(new ProviderError(0, "The provider did not answer in time.", 0, null));
            }
        }

        if (result.Wamid is { } wamid)
        {
            await RecordSentAsync(claimed, wamid, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        await ApplyErrorAsync(claimed, result.Error!, fromWebhook: false, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>A queue message that ended in the poison queue: its message is failed if nothing else finished it.</summary>
    public async Task HandlePoisonAsync(SendWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var message = await messages.FindAsync(work.WorkspaceId, work.MessageId, cancellationToken).ConfigureAwait(false);
        if (message is null || message.Status is MessageStatus.Failed || MessageStatus.Rank(message.Status) >= MessageStatus.Rank(MessageStatus.Sent))
        {
            return;
        }

        logger.Poisoned(message.Id);
        if (message.Status == MessageStatus.Sending)
        {
            // Claimed, so Meta may have been called: not "gave up" but "unknown", which Meta's later status revives.
            await FailWhenAsync(message, m => m.Status == MessageStatus.Sending, DeliveryUnknownCode, DeliveryUnknownTitle, cancellationToken).ConfigureAwait(false);
            return;
        }

        await FailAsync(message, GaveUpCode, GaveUpTitle, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The sweeper's way in: a message still <c>sending</c> at this claim after <c>ClaimTimeout</c> is failed as
    /// <c>delivery_unknown</c>, as when its queue message comes back (never sent again). True if it was.
    /// </summary>
    internal async Task<bool> SettleExpiredClaimAsync(MessageEntity message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        logger.DeliveryUnknown(message.Id, clock.GetUtcNow() - (message.ClaimedAt ?? message.CreatedAt));
        var (result, _) = await FailWhenAsync(message, m => m.Status == MessageStatus.Sending && m.Attempts == message.Attempts && m.ClaimedAt == message.ClaimedAt, DeliveryUnknownCode, DeliveryUnknownTitle, cancellationToken).ConfigureAwait(false);
        return result == MessageStore.Result.Changed;
    }

    /// <summary>
    /// Meta's error, mapped by its code (spec §5). Used for the dispatcher's own calls and for <c>failed</c>
    /// statuses that arrive by webhook.
    /// </summary>
    internal async Task ApplyErrorAsync(MessageEntity message, ProviderError error, bool fromWebhook, CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        var code = error.Code == 0 ? (error.HttpStatus == 0 ? "timeout" : "http_" + error.HttpStatus) : error.Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var disposition = MetaErrors.Classify(error);
        logger.ProviderRefused(message.Id, code, error.Title, disposition);
        if (fromWebhook && disposition is ErrorDisposition.Retry or ErrorDisposition.PairLimit)
        {
            // Meta has already given up on this one; statuses never move back to queued. The caller may send again.
            await FailAsync(message, code, error.Title, cancellationToken).ConfigureAwait(false);
            return;
        }

        switch (disposition)
        {
            case ErrorDisposition.Retry:
            case ErrorDisposition.PairLimit:
                var delay = disposition == ErrorDisposition.PairLimit ? o.PairLimitDelay * (message.Failures + 1) : Backoff(o, message.Failures);
                if (error.RetryAfter is { } retryAfter && retryAfter > delay)
                {
                    delay = retryAfter;
                }

                await RetryOrGiveUpAsync(message, delay, code, error.Title, cancellationToken).ConfigureAwait(false);
                return;
            case ErrorDisposition.AccountLevel:
                await accounts.SetStatusAsync(message.WorkspaceId, message.AccountId, AccountStatus.Disconnected, $"Meta {code}: {error.Title}", cancellationToken).ConfigureAwait(false);
                if (fromWebhook)
                {
                    await FailAsync(message, code, error.Title, cancellationToken).ConfigureAwait(false);
                    return;
                }

                await RequeueAsync(message, o.DisconnectedHold, countsAsFailure: false, (code, error.Title), cancellationToken).ConfigureAwait(false);
                return;
            case ErrorDisposition.OptedOut:
                await contacts.ChangeAsync(message.WorkspaceId, message.ContactId, c =>
                {
                    var changed = c.OptedIn;
                    c.OptedIn = false;
                    return changed;
                }, cancellationToken).ConfigureAwait(false);
                await FailAsync(message, code, error.Title, cancellationToken).ConfigureAwait(false);
                return;
            default:
                await FailAsync(message, code, error.Title, cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    private async Task RecordSentAsync(MessageEntity claimed, string wamid, CancellationToken cancellationToken)
    {
        // The wamid pointer first: a status webhook that comes without our callback data still finds the message.
        var wamids = await storage.GetTableAsync(MessagingNames.Wamids, cancellationToken).ConfigureAwait(false);
        await wamids.UpsertEntityAsync(new WamidEntity { PartitionKey = ContactKeys.Encode(wamid), WorkspaceId = claimed.WorkspaceId, MessageId = claimed.Id }, Azure.Data.Tables.TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var (result, _) = await store.ChangeAsync(claimed.WorkspaceId, claimed.Id, m => MarkSent(m, wamid, now), MessageKeys.StatusEvent(wamid, MessageStatus.Sent), "message.sent", cancellationToken, claimed).ConfigureAwait(false);
        if (result == MessageStore.Result.AlreadyApplied)
        {
            // Meta's own "sent" status got here first and recorded the event: record the rest without it.
            await store.ChangeAsync(claimed.WorkspaceId, claimed.Id, m => MarkSent(m, wamid, now), null, null, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool MarkSent(MessageEntity m, string wamid, DateTimeOffset now)
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

    /// <summary>A claim that is still <c>sending</c> when its queue message comes back.</summary>
    private async Task CheckClaimAsync(MessageEntity message, SendWork work, CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        var age = clock.GetUtcNow() - (message.ClaimedAt ?? message.CreatedAt);
        if (age < o.ClaimTimeout)
        {
            // Another invocation may still be calling the provider: look again once its claim could have expired.
            await messages.EnqueueAsync(work, o.ClaimTimeout - age + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            return;
        }

        // The instance that called the provider died before recording the answer. Sending again could deliver
        // twice, so the message is failed as "unknown"; if Meta did accept it, its status webhook (which carries
        // our ids in biz_opaque_callback_data) moves it on to sent/delivered/read.
        logger.DeliveryUnknown(message.Id, age);
        await FailAsync(message, DeliveryUnknownCode, DeliveryUnknownTitle, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A failed attempt: back to <c>queued</c> after <paramref name="delay"/>, or, when it was the last one, failed
    /// with <paramref name="code"/> and a copy on the poison queue.
    /// </summary>
    private async Task RetryOrGiveUpAsync(MessageEntity message, TimeSpan delay, string code, string title, CancellationToken cancellationToken)
    {
        if (message.Failures + 1 < options.CurrentValue.MaxAttempts)
        {
            await RequeueAsync(message, delay, countsAsFailure: true, (code, title), cancellationToken).ConfigureAwait(false);
            return;
        }

        await FailAsync(message, code, title, cancellationToken).ConfigureAwait(false);
        var poison = await storage.GetQueueAsync(PoisonQueue, cancellationToken).ConfigureAwait(false);
        await poison.SendMessageAsync(new SendWork(message.WorkspaceId, message.Id, message.Attempts).ToJson(), cancellationToken).ConfigureAwait(false);
    }

    private async Task RequeueAsync(MessageEntity claimed, TimeSpan delay, bool countsAsFailure, (string Code, string Title)? error, CancellationToken cancellationToken)
    {
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
        }, null, null, cancellationToken).ConfigureAwait(false);
        if (result == MessageStore.Result.Changed)
        {
            await messages.EnqueueAsync(new SendWork(requeued!.WorkspaceId, requeued.Id, requeued.Attempts), delay, cancellationToken).ConfigureAwait(false);
        }
    }

    internal Task FailAsync(MessageEntity message, string code, string title, CancellationToken cancellationToken) =>
        FailWhenAsync(message, _ => true, code, title, cancellationToken);

    /// <summary>Fails the message with <paramref name="code"/> if it is not finished and <paramref name="may"/> agrees.</summary>
    private async Task<(MessageStore.Result Result, MessageEntity? Message)> FailWhenAsync(MessageEntity message, Func<MessageEntity, bool> may, string code, string title, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return await store.ChangeAsync(message.WorkspaceId, message.Id, m =>
        {
            if (!may(m) || m.Status == MessageStatus.Failed || MessageStatus.Rank(m.Status) >= MessageStatus.Rank(MessageStatus.Delivered))
            {
                return false;
            }

            m.Status = MessageStatus.Failed;
            m.ErrorCode = code;
            m.ErrorTitle = title;
            m.FailedAt = now;
            m.ClaimedAt = null;
            return true;
        }, MessageKeys.StatusEvent(message.Wamid ?? message.Id, MessageStatus.Failed), "message.failed", cancellationToken).ConfigureAwait(false);
    }

    private static TimeSpan Backoff(WhatsAppOptions o, int failures)
    {
        var exponential = o.RetryDelay * Math.Pow(2, Math.Min(failures, 16));
        var capped = exponential > o.MaxRetryDelay ? o.MaxRetryDelay : exponential;
        return capped * (0.8 + (Random.Shared.NextDouble() * 0.4));
    }
}
