using System.Collections.Concurrent;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// What the dispatcher asks before it claims (and again before it calls Meta for) a campaign's message: is the campaign
/// still running? Each instance keeps a campaign's status for <see cref="MaxAge"/>, so a pause or a cancel stops its
/// sends within about that, without a read per message.
/// </summary>
public sealed class CampaignGate(CampaignStore store, TimeProvider clock)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(250);

    private readonly RecentReads<(string, string), string> _seen = new(clock);
    private readonly ConcurrentDictionary<(string, string), byte> _refreshing = new();

    /// <summary>
    /// The status this instance last read for the campaign, without reading it again (null: never read): what the
    /// dispatcher asks between a slot and the call to Meta, where nothing may wait on storage (a late call crowds the
    /// next slot's second).
    /// </summary>
    public string? Known(string workspaceId, string campaignId)
    {
        if (!_seen.TryPeek((workspaceId, campaignId), out var status, out var at))
        {
            return null;
        }

        // Older than MaxAge: read again in the background, for the calls after this one (this one does not wait).
        if (clock.GetUtcNow() - at >= MaxAge && _refreshing.TryAdd((workspaceId, campaignId), 0))
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await StatusAsync(workspaceId, campaignId, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is Azure.RequestFailedException || Storage.StorageFailures.IsUnavailable(ex))
                {
                    // The next look tries again.
                }
                finally
                {
                    _refreshing.TryRemove((workspaceId, campaignId), out _);
                }
            });
        }

        return status;
    }

    /// <summary>The campaign's status as of at most <see cref="MaxAge"/> ago; <see cref="CampaignStatus.Cancelled"/> for a campaign that is gone.</summary>
    public async Task<string> StatusAsync(string workspaceId, string campaignId, CancellationToken cancellationToken = default) =>
        // A campaign paused by the messaging limit lets its released messages go: each was counted within the cap
        // before it was released; only what is still pending waits for the window to free.
        (await _seen.GetAsync((workspaceId, campaignId), MaxAge, async ct => await store.FindAsync(workspaceId, campaignId, ct).ConfigureAwait(false) switch
        {
            null => CampaignStatus.Cancelled,
            { Status: CampaignStatus.Paused, PauseReason: PauseReasons.MessagingLimit } => CampaignStatus.Running,
            var found => found.Status,
        }, cancellationToken).ConfigureAwait(false))!;
}
