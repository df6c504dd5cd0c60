using Aisoule.Core.Campaigns;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Campaigns;

/// <summary>
/// The campaigns' background work: each step of a running campaign (queue <c>campaignsteps</c>, setting
/// <c>CampaignStepsQueue</c>), and the watch timer (setting <c>CampaignWatchSchedule</c>, every 5 seconds by default)
/// that starts due campaigns, resumes those paused by the messaging limit, and restarts stalled ones.
/// </summary>
public sealed class CampaignWorkerFunctions(CampaignFanout fanout, CampaignWatcher watcher)
{
    [Function(nameof(RunCampaignStep))]
    public async Task RunCampaignStep([QueueTrigger("%CampaignStepsQueue%")] string message, CancellationToken cancellationToken)
    {
        if (CampaignStep.Parse(message) is { } step)
        {
            await fanout.StepAsync(step, cancellationToken).ConfigureAwait(false);
        }
    }

    [Function(nameof(WatchCampaigns))]
    public async Task WatchCampaigns([TimerTrigger("%CampaignWatchSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        await watcher.WatchAsync(cancellationToken).ConfigureAwait(false);
}
