using Aisoule.Core.Campaigns;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Campaigns;

/// <summary>
/// The watch timer and the active marks. A campaign is marked active before it is stored, so a watch that comes in
/// between must not take the mark away: without it a campaign whose step is lost (its host killed) is never
/// restarted. (Found by <see cref="CampaignCrashTests"/>: a running, planned campaign with no mark stayed unsent.)
/// </summary>
public sealed class CampaignWatcherTests : IAsyncLifetime
{
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(new Dictionary<string, string?> { ["CampaignWatchSchedule"] = "0 0 0 1 1 *" }, clock: _clock);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_mark_whose_campaign_is_not_stored_yet_survives_a_watch_and_goes_once_it_is_old()
    {
        var store = _host.Services.GetRequiredService<CampaignStore>();
        var watcher = _host.Services.GetRequiredService<CampaignWatcher>();
        var ws = "ws_" + Guid.NewGuid().ToString("N");
        var id = CampaignKeys.NewId(DateTimeOffset.UtcNow);

        // Marked, and its creation still under way (the campaign row comes next).
        await store.SetActiveAsync(ws, id, true);
        await watcher.WatchAsync();
        var young = await MarkedAsync(store, id);

        // The creation failed: a minute later the mark is an orphan.
        _clock.Advance(CampaignWatcher.Orphaned * 2);
        await watcher.WatchAsync();

        Assert.True(young, "the mark of a campaign being created was removed");
        Assert.False(await MarkedAsync(store, id), "an orphaned mark stayed");
    }

    private static async Task<bool> MarkedAsync(CampaignStore store, string id)
    {
        await foreach (var (_, campaignId, _) in store.ActiveAsync())
        {
            if (campaignId == id)
            {
                return true;
            }
        }

        return false;
    }
}
