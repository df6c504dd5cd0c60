namespace Aisoule.Core.Campaigns;

/// <summary>
/// The watch timer (setting <c>CampaignWatchSchedule</c>, every 5 seconds by default): starts scheduled campaigns whose
/// time has come (once across instances: the start is an ETag-guarded transition), resumes those paused by the
/// messaging limit when the window frees, and restarts the steps of a running campaign whose last step is older than
/// <see cref="Stalled"/> (its step's queue message was lost, or its instance died).
/// </summary>
public sealed class CampaignWatcher(CampaignStore store, CampaignLifecycle lifecycle, CampaignSteps steps, TimeProvider clock)
{
    public static readonly TimeSpan Stalled = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a mark may name a campaign that is not stored before it goes: a campaign is marked before it is
    /// stored, so a young mark without its campaign is a creation under way (removing it would leave the campaign
    /// unwatched: a lost step would never be restarted); an old one is a creation that failed.
    /// </summary>
    public static readonly TimeSpan Orphaned = TimeSpan.FromMinutes(1);

    public async Task WatchAsync(CancellationToken cancellationToken = default)
    {
        var table = await store.TableAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var (ws, id, markedAt) in store.ActiveAsync(cancellationToken).ConfigureAwait(false))
        {
            var campaign = await store.FindAsync(ws, id, cancellationToken).ConfigureAwait(false);
            var now = clock.GetUtcNow();
            if (campaign is null)
            {
                if (!(markedAt > now - Orphaned))
                {
                    await store.SetActiveAsync(ws, id, false, cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            switch (campaign.Status)
            {
                case CampaignStatus.Scheduled when campaign.ScheduledAt <= now:
                    if ((await lifecycle.StartAsync(ws, id, dueOnly: true, cancellationToken).ConfigureAwait(false)).Changed)
                    {
                        await steps.EnqueueAsync(ws, id, null, cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                case CampaignStatus.Paused when campaign.PauseReason == PauseReasons.MessagingLimit && campaign.ResumeAt <= now:
                    if ((await lifecycle.ResumeAsync(ws, id, limitOnly: true, cancellationToken).ConfigureAwait(false)).Changed)
                    {
                        await steps.EnqueueAsync(ws, id, null, cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                case CampaignStatus.Running or CampaignStatus.Cancelled:
                    var fanout = await table.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>(ws, CampaignKeys.Fanout(id), cancellationToken: cancellationToken).ConfigureAwait(false);
                    var last = fanout.HasValue ? fanout.Value!.GetDateTimeOffset("LastStepAt") ?? fanout.Value.Timestamp : null;
                    var lease = fanout.HasValue ? fanout.Value!.GetDateTimeOffset("LeaseUntil") : null;
                    if ((last is null || now - last > Stalled) && !(lease > now))
                    {
                        await steps.EnqueueAsync(ws, id, null, cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                case var status when CampaignStatus.IsFinal(status):
                    await store.SetActiveAsync(ws, id, false, cancellationToken).ConfigureAwait(false);
                    continue;
                default:
                    continue;
            }
        }
    }
}
