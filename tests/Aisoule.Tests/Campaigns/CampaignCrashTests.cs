using System.Security.Cryptography;
using Aisoule.Core.Campaigns;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Campaigns;

/// <summary>A campaign's steps cut short at awkward points: what the next step finds must still add up.</summary>
public sealed class CampaignCrashTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static string NewWorkspace() => "ws_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static string NewContact(char digit) => ("ct_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)))[..^1] + digit;

    private static RecipientEntity Recipient(string ws, string campaignId, string contactId, string status = RecipientStatus.Pending) => new()
    {
        PartitionKey = CampaignKeys.RecipientPartition(ws, contactId),
        RowKey = CampaignKeys.Recipient(campaignId, contactId),
        CampaignId = campaignId,
        ContactId = contactId,
        Status = status,
        MessageId = CampaignKeys.MessageIdIn(DateTimeOffset.UtcNow, contactId[^1]),
        To = "+15550001111",
    };

    [Fact]
    public async Task Planning_again_after_a_plan_cut_short_writes_only_the_missing_rows_and_counts_each_row_once()
    {
        var planner = _host.Services.GetRequiredService<CampaignPlanner>();
        var store = _host.Services.GetRequiredService<CampaignStore>();
        var ws = NewWorkspace();
        var id = CampaignKeys.NewId(DateTimeOffset.UtcNow);
        var contacts = Enumerable.Range(0, 30).Select(i => NewContact("07a"[i % 3])).ToList();
        var none = new Dictionary<string, long>();

        // The first plan stopped after some of its transactions (a crash): the next step plans the same list again.
        await planner.WriteAsync(new CampaignPlanner.Plan([.. contacts.Where(c => c[^1] == '7').Select(c => Recipient(ws, id, c))], none));
        await planner.WriteAsync(new CampaignPlanner.Plan([.. contacts.Select(c => Recipient(ws, id, c))], none));

        var counts = await store.CountsAsync(ws, id);
        Assert.Equal(30, counts.GetValueOrDefault(RecipientStatus.Pending));
        var rows = await store.RecipientsAsync(ws, id, null, null, 100, null);
        Assert.Equal(contacts.Order(), rows.Recipients.Select(r => r.ContactId).Order());
    }
}
