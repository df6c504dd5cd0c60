using Aisoule.Core.Messaging.Dispatch;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Messaging.Dispatch;

/// <summary>
/// The <c>sends</c> queue's side of messaging: the dispatcher, and the poison handler that marks what it gave up on as
/// failed. The queue name comes from the setting <c>SendsQueue</c>, which holds the physical name (the storage prefix
/// included).
/// </summary>
public sealed class DispatcherFunctions(SendDispatcher dispatcher)
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
}
