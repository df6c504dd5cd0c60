using Aisoule.Core.Messaging.Inbound;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Messaging.Inbound;

/// <summary>
/// The processor of Meta's webhook events (inbound messages and statuses), one queue message per change. The queue
/// name comes from the setting <c>InboundQueue</c>, which holds the physical name (the storage prefix included).
/// </summary>
public sealed class InboundFunctions(InboundProcessor processor)
{
    [Function(nameof(ProcessWhatsAppEvent))]
    public async Task ProcessWhatsAppEvent([QueueTrigger("%InboundQueue%")] string message, CancellationToken cancellationToken) =>
        await processor.ProcessAsync(message, cancellationToken).ConfigureAwait(false);
}
