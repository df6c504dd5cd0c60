using Aisoule.Core.Webhooks;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Webhooks;

/// <summary>
/// The webhooks' background work: the relay from the outbox (queue <c>outbox</c>, setting <c>OutboxQueue</c>), the
/// attempts (queue <c>webhookdeliveries</c>, setting <c>WebhookDeliveriesQueue</c>), and the sweep (setting
/// <c>OutboxSweepSchedule</c>, every 5 minutes by default) that nudges events whose nudge was lost, queues deliveries
/// whose queue message was, and deletes what is past retention.
/// </summary>
public sealed class WebhookWorkerFunctions(OutboxRelay relay, WebhookDeliverer deliverer)
{
    [Function(nameof(RelayOutbox))]
    public async Task RelayOutbox([QueueTrigger("%OutboxQueue%")] string message, CancellationToken cancellationToken)
    {
        if (OutboxNudge.Parse(message) is { } nudge)
        {
            await relay.RelayAsync(nudge, cancellationToken).ConfigureAwait(false);
        }
    }

    [Function(nameof(DeliverWebhook))]
    public async Task DeliverWebhook([QueueTrigger("%WebhookDeliveriesQueue%")] string message, CancellationToken cancellationToken)
    {
        if (WebhookWork.Parse(message) is { } work)
        {
            await deliverer.RunAsync(work, cancellationToken).ConfigureAwait(false);
        }
    }

    [Function(nameof(SweepOutbox))]
    public async Task SweepOutbox([TimerTrigger("%OutboxSweepSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        await relay.SweepAsync(cancellationToken).ConfigureAwait(false);
}
