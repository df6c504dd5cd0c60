using System.Diagnostics;
using Aisoule.Core.Storage;
using Aisoule.Core.Telemetry;

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

    /// <summary>
    /// Puts <paramref name="work"/> on the queue, visible after <paramref name="delay"/> (at most six days), carrying the
    /// trace it is enqueued in (the request's, or the dispatcher's for a retry) so its dispatch continues that trace.
    /// </summary>
    public async Task EnqueueAsync(SendWork work, TimeSpan? delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var activity = AisouleTelemetry.Source.StartActivity("aisoule.send.enqueue", ActivityKind.Producer);
        activity?.SetTag(AisouleTelemetry.WorkspaceIdTag, work.WorkspaceId);
        activity?.SetTag(AisouleTelemetry.MessageIdTag, work.MessageId);
        activity?.SetTag("messaging.destination.name", MessagingNames.SendsQueue);
        work = work with { TraceParent = AisouleTelemetry.CurrentTraceParent() ?? work.TraceParent };
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
