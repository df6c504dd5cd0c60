using System.Collections.Concurrent;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// What the dispatcher asks before it claims (and again before it calls Meta for) a campaign's message: is the campaign
/// still running? Each instance keeps a campaign's status for <see cref="MaxAge"/>, so a pause or a cancel stops its
/// sends within about that, without a read per message.
/// </summary>
public sealed class CampaignGate(CampaignStore store, TimeProvider clock)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(250);

    private readonly ConcurrentDictionary<(string, string), (string Status, DateTimeOffset At)> _seen = new();

    /// <summary>The campaign's status as of at most <see cref="MaxAge"/> ago; <see cref="CampaignStatus.Cancelled"/> for a campaign that is gone.</summary>
    public async Task<string> StatusAsync(string workspaceId, string campaignId, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        if (_seen.TryGetValue((workspaceId, campaignId), out var seen) && now - seen.At < MaxAge)
        {
            return seen.Status;
        }

        var status = (await store.FindAsync(workspaceId, campaignId, cancellationToken).ConfigureAwait(false))?.Status ?? CampaignStatus.Cancelled;
        if (_seen.Count > 10_000)
        {
            _seen.Clear();
        }

        _seen[(workspaceId, campaignId)] = (status, now);
        return status;
    }
}
