using System.Globalization;
using Aisoule.Core.Accounts;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Results;
using Aisoule.Core.WhatsApp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Messaging.Messages;

/// <summary>Where a Meta error came from: the dispatcher's own call, or a <c>failed</c> status by webhook.</summary>
public enum ErrorSource
{
    SendCall,
    Webhook,
}

/// <summary>
/// What a Meta error does to a message (spec §5), decided in one place for both of its sources: retry with back-off,
/// delay the recipient (pair limit), fail, opt the contact out, or disconnect the account. The effects on the message
/// are <see cref="MessageLifecycle"/> transitions; the dispatcher and the webhook processor both call this, never each other.
/// </summary>
public sealed class DeliveryPolicy(
    MessageLifecycle lifecycle,
    SendEnqueuer enqueuer,
    WhatsAppAccountService accounts,
    ContactService contacts,
    IOptionsMonitor<WhatsAppOptions> options,
    ILogger<DeliveryPolicy> logger,
    ThroughputGate? gate = null)
{
    /// <summary>
    /// How many times a campaign's message may be put back for Meta's throughput or pair-rate limit without spending an
    /// attempt; past that, each counts as a failed attempt again.
    /// </summary>
    public const int MaxLimitHolds = 20;

    private const int ThroughputExceeded = 130429;

    /// <summary>The error of a send given up on after <c>WhatsApp:MaxAttempts</c> failed attempts (or the poison queue).</summary>
    public static readonly MessageError GaveUp = new("dispatch_failed", "The message could not be sent after repeated errors.");

    /// <summary>The error of a send whose account is gone, or stayed disconnected for too long.</summary>
    public static readonly MessageError AccountDisconnected = new(ErrorCodes.AccountDisconnected, "Account disconnected");

    /// <summary>Applies Meta's <paramref name="error"/> for <paramref name="message"/> (claimed, when it comes from the send call).</summary>
    public async Task ApplyAsync(MessageEntity message, ProviderError error, ErrorSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(error);
        var o = options.CurrentValue;
        var code = error.Code == 0 ? (error.HttpStatus == 0 ? "timeout" : "http_" + error.HttpStatus) : error.Code.ToString(CultureInfo.InvariantCulture);
        var failure = new MessageError(code, error.Title);
        var disposition = MetaErrors.Classify(error);
        logger.ProviderRefused(message.Id, code, error.Title, disposition);
        var fromWebhook = source == ErrorSource.Webhook;
        if (fromWebhook && disposition is ErrorDisposition.Retry or ErrorDisposition.PairLimit)
        {
            // Meta has already given up on this one; statuses never move back to queued. The caller may send again.
            await lifecycle.FailAsync(message, failure, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        switch (disposition)
        {
            case ErrorDisposition.Retry:
            case ErrorDisposition.PairLimit:
                var delay = disposition == ErrorDisposition.PairLimit ? o.PairLimitDelay * (message.Failures + 1) : Backoff(message.Failures);
                if (error.RetryAfter is { } retryAfter && retryAfter > delay)
                {
                    delay = retryAfter;
                }

                if (error.Code == ThroughputExceeded && gate is not null)
                {
                    // The number is over its throughput: no instance sends on it until the hold is over.
                    await gate.HoldAsync(message.PhoneNumberId, error.RetryAfter ?? TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }

                if (message.CampaignId is not null && error.Code is ThroughputExceeded or MetaErrors.PairLimit && message.Attempts - message.Failures <= MaxLimitHolds)
                {
                    // A campaign slows down for Meta's limits rather than burning its recipients' attempts.
                    await lifecycle.RequeueAsync(message, delay, countsAsFailure: false, failure, cancellationToken).ConfigureAwait(false);
                    return;
                }

                await RetryOrGiveUpAsync(message, delay, failure, cancellationToken).ConfigureAwait(false);
                return;
            case ErrorDisposition.AccountLevel:
                await accounts.SetStatusAsync(message.WorkspaceId, message.AccountId, AccountStatus.Disconnected, $"Meta {code}: {error.Title}", cancellationToken).ConfigureAwait(false);
                if (fromWebhook)
                {
                    await lifecycle.FailAsync(message, failure, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return;
                }

                // Held, not failed: the account may be connected again; no attempt is spent.
                await lifecycle.RequeueAsync(message, o.DisconnectedHold, countsAsFailure: false, failure, cancellationToken).ConfigureAwait(false);
                return;
            case ErrorDisposition.OptedOut:
                await contacts.ChangeAsync(message.WorkspaceId, message.ContactId, c =>
                {
                    var changed = c.OptedIn;
                    c.OptedIn = false;
                    return changed;
                }, cancellationToken).ConfigureAwait(false);
                await lifecycle.FailAsync(message, failure, cancellationToken: cancellationToken).ConfigureAwait(false);
                return;
            default:
                await lifecycle.FailAsync(message, failure, cancellationToken: cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>
    /// A failed attempt of a claimed message: back to <c>queued</c> after <paramref name="delay"/>, or, when it was the
    /// last one (<c>WhatsApp:MaxAttempts</c>), failed with <paramref name="error"/> and a copy on the poison queue.
    /// </summary>
    public async Task RetryOrGiveUpAsync(MessageEntity claimed, TimeSpan delay, MessageError error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        if (claimed.Failures + 1 < options.CurrentValue.MaxAttempts)
        {
            await lifecycle.RequeueAsync(claimed, delay, countsAsFailure: true, error, cancellationToken).ConfigureAwait(false);
            return;
        }

        await lifecycle.FailAsync(claimed, error, cancellationToken: cancellationToken).ConfigureAwait(false);
        await enqueuer.PoisonAsync(new SendWork(claimed.WorkspaceId, claimed.Id, claimed.Attempts), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Exponential back-off after <paramref name="failures"/> failed attempts, capped, with ±20 % jitter.</summary>
    public TimeSpan Backoff(int failures)
    {
        var o = options.CurrentValue;
        var exponential = o.RetryDelay * Math.Pow(2, Math.Min(failures, 16));
        var capped = exponential > o.MaxRetryDelay ? o.MaxRetryDelay : exponential;
        return capped * (0.8 + (Random.Shared.NextDouble() * 0.4));
    }
}
