using Aisoule.Core.Messaging;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Messaging;

/// <summary>
/// The queue-triggered side of messaging: the dispatcher, the poison handler that marks what it gave up on as
/// failed, and the processor of Meta's webhook events. Queue names come from settings (<c>SendsQueue</c>,
/// <c>InboundQueue</c>), which hold the physical names (the storage prefix included).
/// </summary>
public sealed class DispatcherFunctions(SendDispatcher dispatcher, InboundProcessor processor)
{
    [Function(nameof(DispatchSend))]
    public async Task DispatchSend([QueueTrigger("%SendsQueue%")] string message, CancellationToken cancellationToken)
    {
        if (SendWork.Parse(message) is { } work)
        {
            await dispatcher.DispatchAsync(work, cancellationToken).ConfigureAwait(false);
        }
    }

    [Function(nameof(FailPoisonedSend))]
    public async Task FailPoisonedSend([QueueTrigger("%SendsQueue%-poison")] string message, CancellationToken cancellationToken)
    {
        if (SendWork.Parse(message) is { } work)
        {
            await dispatcher.HandlePoisonAsync(work, cancellationToken).ConfigureAwait(false);
        }
    }

    [Function(nameof(ProcessWhatsAppEvent))]
    public async Task ProcessWhatsAppEvent([QueueTrigger("%InboundQueue%")] string message, CancellationToken cancellationToken) =>
        await processor.ProcessAsync(message, cancellationToken).ConfigureAwait(false);
}
