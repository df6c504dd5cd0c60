using Aisoule.Core.Messaging.Dispatch;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Messaging.Dispatch;

/// <summary>
/// Enqueues accepted sends whose queue write failed and settles expired claims (setting <c>SendSweepSchedule</c>,
/// every minute by default). See <see cref="SendSweeper"/>.
/// </summary>
public sealed class SendSweeperFunctions(SendSweeper sweeper)
{
    [Function(nameof(SweepSends))]
    public async Task SweepSends([TimerTrigger("%SendSweepSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        await sweeper.SweepAsync(cancellationToken).ConfigureAwait(false);
}
