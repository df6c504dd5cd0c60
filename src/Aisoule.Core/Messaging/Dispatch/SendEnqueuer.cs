using Aisoule.Core.Storage;

namespace Aisoule.Core.Messaging.Dispatch;

/// <summary>
/// The <c>sends</c> queue and its poison queue: the one place a queue message for a send is written, by whoever
/// accepts, puts back or holds a message (the request, the lifecycle, the dispatcher).
/// </summary>
public sealed class SendEnqueuer(StorageAccount storage)
{
    public const string PoisonQueue = MessagingNames.SendsQueue + "-poison";

    /// <summary>The longest a queue message can stay invisible.</summary>
    private static readonly TimeSpan MaxDelay = TimeSpan.FromDays(6);

    /// <summary>Puts <paramref name="work"/> on the queue, visible after <paramref name="delay"/> (at most six days).</summary>
    public async Task EnqueueAsync(SendWork work, TimeSpan? delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var queue = await storage.GetQueueAsync(MessagingNames.SendsQueue, cancellationToken).ConfigureAwait(false);
        await queue.SendMessageAsync(work.ToJson(), visibilityTimeout: delay is { } d && d > TimeSpan.Zero ? (d < MaxDelay ? d : MaxDelay) : null, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A copy of <paramref name="work"/> on the poison queue, for a send given up on.</summary>
    public async Task PoisonAsync(SendWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var poison = await storage.GetQueueAsync(PoisonQueue, cancellationToken).ConfigureAwait(false);
        await poison.SendMessageAsync(work.ToJson(), cancellationToken).ConfigureAwait(false);
    }
}
