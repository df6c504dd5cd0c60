using System.Diagnostics;
using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Telemetry;
using Aisoule.Core.WhatsApp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Messaging.Dispatch;

/// <summary>
/// Runs one <c>sends</c> queue message. The queue delivers at least once; a message is sent at most once because
/// the provider is only called by whoever moved it from <c>queued</c> to <c>sending</c> with an ETag-guarded write,
/// for the attempt the queue message names. Every outcome ends in a stored state: sent, failed, or queued again
/// with a new queue message (back-off, pair limit, account held).
/// </summary>
/// <remarks>
/// It decides when; every change of the message is a <see cref="MessageLifecycle"/> transition, and what Meta's
/// refusal does is <see cref="DeliveryPolicy"/>'s.
/// </remarks>
public sealed class SendDispatcher(
    MessageStore store,
    MessageLifecycle lifecycle,
    DeliveryPolicy policy,
    SendEnqueuer enqueuer,
    WhatsAppAccountService accounts,
    ThroughputGate gate,
    IWhatsAppProvider provider,
    IOptionsMonitor<WhatsAppOptions> options,
    TimeProvider clock,
    ILogger<SendDispatcher> logger,
    Campaigns.CampaignGate? campaigns = null)
{
    /// <summary>How long a paused campaign's message waits before the dispatcher looks at its campaign again.</summary>
    public static readonly TimeSpan PausedRecheck = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan GateWait = TimeSpan.FromSeconds(20);
    private static readonly MessageError DeliveryUnknown = new(MessageLifecycle.DeliveryUnknownCode, "The sending instance stopped before WhatsApp's answer was recorded; not resent to avoid a duplicate.");

    /// <summary>
    /// Runs <paramref name="work"/> in a span that continues the trace it was enqueued in (the request's), with the
    /// message and workspace on every log line it writes.
    /// </summary>
    public async Task DispatchAsync(SendWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var activity = StartSpan("aisoule.send.dispatch", work);
        activity?.SetTag("aisoule.attempt", work.Attempt);
        using var scope = MessagingLog.BeginMessageScope(logger, work.WorkspaceId, work.MessageId);
        await DispatchWorkAsync(work, cancellationToken).ConfigureAwait(false);
    }

    // A span for one piece of send work, continuing the trace it was enqueued in, with its workspace and message.
    private static Activity? StartSpan(string name, SendWork work)
    {
        var activity = AisouleTelemetry.StartContinuing(name, work.TraceParent, ActivityKind.Consumer);
        activity?.SetTag(AisouleTelemetry.WorkspaceIdTag, work.WorkspaceId);
        activity?.SetTag(AisouleTelemetry.MessageIdTag, work.MessageId);
        return activity;
    }

    private async Task DispatchWorkAsync(SendWork work, CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;

        // The row the queue message carries, if it is the one this attempt is for, saves the read: the claim is guarded
        // by its ETag, and if it fails the row is read and everything decided again (below).
        var carried = work.Row is { Status: MessageStatus.Queued } row && row.Attempts == work.Attempt ? row : null;
        var message = carried ?? await store.FindAsync(work.WorkspaceId, work.MessageId, cancellationToken).ConfigureAwait(false);
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
            work = work with { Attempt = message.Attempts, Row = null };
        }

        if (message.Status != MessageStatus.Queued || message.Attempts != work.Attempt)
        {
            logger.SendSkipped(message.Id, work.Attempt, message.Status, message.Attempts);
            return;
        }

        // Only while it is still queued at this attempt: an instance that already sees the account connected again
        // may have claimed it meanwhile.
        bool StillQueued(MessageEntity m) => m.Status == MessageStatus.Queued && m.Attempts == work.Attempt;

        // A campaign's message goes only while its campaign runs: a cancelled one's is cancelled, a paused one's waits.
        if (await CampaignHoldAsync(message, work, StillQueued, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var account = await accounts.GetRecentAsync(work.WorkspaceId, message.AccountId, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        if (account is null || account.Status == AccountStatus.Removed)
        {
            await lifecycle.FailAsync(message, DeliveryPolicy.AccountDisconnected, StillQueued, cancellationToken).ConfigureAwait(false);
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
                await lifecycle.FailAsync(message, DeliveryPolicy.AccountDisconnected, StillQueued, cancellationToken).ConfigureAwait(false);
                return;
            }

            var left = o.MaxDisconnectedHold - held;
            await enqueuer.EnqueueAsync(work, left < o.DisconnectedHold ? left : o.DisconnectedHold, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Whatever can fail without Meta being called comes before the claim, so such a failure leaves the message
        // queued for the queue's own retry instead of claimed (which, after a crash, must not be resent).
        var providerAccount = await accounts.ProviderAccountAsync(account, cancellationToken).ConfigureAwait(false);

        // The claim: only the instance whose write lands calls the provider for this attempt. Not cut off by a
        // stop: a claim that lands after its caller gave up would stay "sending" with nobody to give it back.
        var claimed = await lifecycle.ClaimAsync(message, work.Attempt, CancellationToken.None).ConfigureAwait(false);
        if (claimed is null)
        {
            if (carried is not null)
            {
                // The carried row was no longer current: go again on the row as it is now (a claim still "sending" is
                // checked, a message already sent or failed is left alone).
                await DispatchWorkAsync(work with { Row = null }, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        // Everything else first: between the slot and the call to Meta there should be nothing but the call.
        using var payload = JsonDocument.Parse(claimed.PayloadJson);
        bool admitted;
        try
        {
            admitted = await gate.AcquireAsync(claimed.PhoneNumberId, Math.Max(1, account.ThroughputMps), GateWait, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down while waiting for a slot: Meta has not been called, so the claim is given back.
            await lifecycle.GiveBackAsync(claimed, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex)
        {
            // The pacing row could not be reached: Meta has not been called, so the claim is given back. This
            // counts as a failed attempt with back-off (a busy schedule does not), so a lasting fault ends in "failed".
            logger.GateUnavailable(ex, claimed.Id);
            await policy.RetryOrGiveUpAsync(claimed, policy.Backoff(claimed.Failures), DeliveryPolicy.GaveUp, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        if (admitted && claimed.CampaignId is not null && campaigns?.Known(claimed.WorkspaceId, claimed.CampaignId) is Campaigns.CampaignStatus.Paused or Campaigns.CampaignStatus.Cancelled or Campaigns.CampaignStatus.Failed)
        {
            // Paused or cancelled while this one waited for its slot (as this instance last read it: nothing between the
            // slot and the call waits on storage): Meta has not been called; decided again unclaimed.
            await lifecycle.GiveBackAsync(claimed, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        if (!admitted)
        {
            // Not the stopping token: a stop that comes just now must not leave the claim "sending" (it would end as
            // delivery_unknown for a send that never reached Meta).
            await lifecycle.GiveBackAsync(claimed, TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(false);
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
            await lifecycle.MarkSentAsync(claimed, wamid, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        await policy.ApplyAsync(claimed, result.Error!, ErrorSource.SendCall, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<string> CampaignStatusAsync(MessageEntity message, CancellationToken cancellationToken) =>
        campaigns is null || message.CampaignId is null ? Campaigns.CampaignStatus.Running : await campaigns.StatusAsync(message.WorkspaceId, message.CampaignId, cancellationToken).ConfigureAwait(false);

    /// <summary>True when the message's campaign holds it: cancelled (the message is cancelled) or paused (it comes back later).</summary>
    private async Task<bool> CampaignHoldAsync(MessageEntity message, SendWork work, Func<MessageEntity, bool> stillQueued, CancellationToken cancellationToken)
    {
        switch (await CampaignStatusAsync(message, cancellationToken).ConfigureAwait(false))
        {
            case Campaigns.CampaignStatus.Cancelled or Campaigns.CampaignStatus.Failed:
                await lifecycle.FailAsync(message, Campaigns.CampaignLedger.Cancelled, stillQueued, cancellationToken).ConfigureAwait(false);
                return true;
            case Campaigns.CampaignStatus.Paused:
                await enqueuer.EnqueueAsync(work, PausedRecheck, cancellationToken).ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    /// <summary>A queue message that ended in the poison queue: its message is failed if nothing else finished it.</summary>
    public async Task HandlePoisonAsync(SendWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var activity = StartSpan("aisoule.send.poison", work);
        using var scope = MessagingLog.BeginMessageScope(logger, work.WorkspaceId, work.MessageId);
        var message = await store.FindAsync(work.WorkspaceId, work.MessageId, cancellationToken).ConfigureAwait(false);
        if (message is null || MessageLifecycle.IsPastDispatch(message))
        {
            return;
        }

        logger.Poisoned(message.Id);
        if (message.Status == MessageStatus.Sending)
        {
            // Claimed, so Meta may have been called: not "gave up" but "unknown", which Meta's later status revives.
            await lifecycle.FailAsync(message, DeliveryUnknown, m => m.Status == MessageStatus.Sending, cancellationToken).ConfigureAwait(false);
            return;
        }

        await lifecycle.FailAsync(message, DeliveryPolicy.GaveUp, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The sweeper's way in: a message still <c>sending</c> at this claim after <c>ClaimTimeout</c> is failed as
    /// <c>delivery_unknown</c>, as when its queue message comes back (never sent again). True if it was.
    /// </summary>
    internal async Task<bool> SettleExpiredClaimAsync(MessageEntity message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        logger.DeliveryUnknown(message.Id, clock.GetUtcNow() - (message.ClaimedAt ?? message.CreatedAt));
        return await lifecycle.FailAsync(message, DeliveryUnknown, m => m.Status == MessageStatus.Sending && m.Attempts == message.Attempts && m.ClaimedAt == message.ClaimedAt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A claim that is still <c>sending</c> when its queue message comes back.</summary>
    private async Task CheckClaimAsync(MessageEntity message, SendWork work, CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        var age = clock.GetUtcNow() - (message.ClaimedAt ?? message.CreatedAt);
        if (age < o.ClaimTimeout)
        {
            // Another invocation may still be calling the provider: look again once its claim could have expired.
            await enqueuer.EnqueueAsync(work with { Row = null }, o.ClaimTimeout - age + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            return;
        }

        // The instance that called the provider died before recording the answer. Sending again could deliver
        // twice, so the message is failed as "unknown"; if Meta did accept it, its status webhook (which carries
        // our ids in biz_opaque_callback_data) moves it on to sent/delivered/read.
        logger.DeliveryUnknown(message.Id, age);
        await lifecycle.FailAsync(message, DeliveryUnknown, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
