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

    /// <summary>
    /// The status this instance last read for the campaign, without reading it again (null: never read): what the
    /// dispatcher asks between a slot and the call to Meta, where nothing may wait on storage (a late call crowds the
    /// next slot's second).
    /// </summary>
    public string? Known(string workspaceId, string campaignId)
    {
        if (!_seen.TryPeek((workspaceId, campaignId), out var status))
        {
            return null;
        }

        // Older than MaxAge: read again in the background, for the calls after this one (this one does not wait).
        _seen.Refresh((workspaceId, campaignId), MaxAge, ct => ReadAsync(workspaceId, campaignId, ct));
        return status;
    }

    /// <summary>The campaign's status as of at most <see cref="MaxAge"/> ago; <see cref="CampaignStatus.Cancelled"/> for a campaign that is gone.</summary>
    public async Task<string> StatusAsync(string workspaceId, string campaignId, CancellationToken cancellationToken = default) =>
        (await _seen.GetAsync((workspaceId, campaignId), MaxAge, ct => ReadAsync(workspaceId, campaignId, ct), cancellationToken).ConfigureAwait(false))!;

    // A campaign paused by the messaging limit lets its released messages go: each was counted within the cap before it
    // was released; only what is still pending waits for the window to free.
    private async Task<string?> ReadAsync(string workspaceId, string campaignId, CancellationToken cancellationToken) =>
        await store.FindAsync(workspaceId, campaignId, cancellationToken).ConfigureAwait(false) switch
        {
            null => CampaignStatus.Cancelled,
            { Status: CampaignStatus.Paused, PauseReason: PauseReasons.MessagingLimit } => CampaignStatus.Running,
            var found => found.Status,
        };
}
