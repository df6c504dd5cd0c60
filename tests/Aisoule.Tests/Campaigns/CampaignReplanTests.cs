using Aisoule.Core.Campaigns;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

/// <summary>
/// A step that dies while it writes the recipient list leaves the campaign unplanned with some rows written; the next
/// step plans again over them. (Found by <see cref="CampaignCrashTests"/>: the rows already there were taken for a
/// stats conflict and retried until the step gave up, every time, so the campaign never started.)
/// </summary>
public sealed class CampaignReplanTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Writing_the_plan_again_over_rows_written_before_adds_nothing_and_does_not_fail()
    {
        var sender = await Sender.SandboxAsync(_host);
        await ContactsAsync(sender, 30, ["again"]);
        var id = (await CreateAsync(sender, new { name = "Again", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "again" } } })).GetProperty("id").GetString()!;
        await WaitForStatusAsync(sender, id, "completed");
        // Statuses still move after completion (sent, delivered, read): compare once they have all arrived.
        var before = await Eventually.WaitAsync(() => GetAsync(sender, id), c => Stat(c, "read") == 30, TimeSpan.FromSeconds(30), "all read");
        var ws = sender.Owner.WorkspaceId;
        var campaign = (await _host.Services.GetRequiredService<CampaignStore>().FindAsync(ws, id))!;
        var planner = _host.Services.GetRequiredService<CampaignPlanner>();
        var plan = await planner.ResolveAsync(ws, campaign, campaign.StartedAt!.Value);

        // Every row of the plan exists already (the step that wrote them died before it recorded the plan).
        await planner.WriteAsync(plan);

        var after = await GetAsync(sender, id);
        Assert.Equal(30, plan.Recipients.Count);
        Assert.Equal(before.GetProperty("stats").ToString(), after.GetProperty("stats").ToString());
        Assert.Equal(30, (await RecipientsAsync(sender, id)).Count);
    }
}
