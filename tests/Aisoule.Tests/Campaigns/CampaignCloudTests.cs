using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Xunit;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

/// <summary>A campaign through the Cloud API provider (the loopback Graph API), and the outbox events it leaves.</summary>
public sealed class CampaignCloudTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _host = await TestHost.StartAsync(_graph.Settings());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task Campaign_works_with_the_cloud_provider()
    {
        var sender = await Sender.CloudAsync(_host);
        var phones = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < 15; i++)
        {
            var phone = Sender.NewPhone();
            phones[await ContactAsync(sender, new { phone_number = phone, tags = new[] { "cloud" } })] = phone.TrimStart('+');
        }

        var id = Id(await CreateAsync(sender, new { name = "Cloud", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "cloud" } } }));
        var done = await WaitForStatusAsync(sender, id, "completed");

        Assert.Equal(15, Stat(done, "total"));
        Assert.Equal(15, Stat(done, "sent"));
        var sends = _graph.Sends.Where(s => phones.ContainsValue(s.Body.GetProperty("to").GetString() ?? "")).ToList();
        Assert.Equal(phones.Values.Order(StringComparer.Ordinal), sends.Select(s => s.Body.GetProperty("to").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(sends, s => Assert.Equal("hello_world", s.Body.GetProperty("template").GetProperty("name").GetString()));
        Assert.All(sends, s => Assert.Equal("en_US", s.Body.GetProperty("template").GetProperty("language").GetProperty("code").GetString()));
        var recipients = await RecipientsAsync(sender, id);
        Assert.All(recipients, r => Assert.Equal("sent", r.GetProperty("status").GetString()));
        foreach (var r in recipients)
        {
            var messageId = r.GetProperty("message_id").GetString()!;
            var send = Assert.Single(sends, s => s.Body.GetProperty("biz_opaque_callback_data").GetString()!.EndsWith(messageId, StringComparison.Ordinal));
            Assert.Equal(phones[r.GetProperty("contact_id").GetString()!], send.Body.GetProperty("to").GetString());
            var message = await sender.MessageAsync(messageId);
            Assert.Equal(send.Wamid, message.GetProperty("wamid").GetString());
        }
    }

    [Fact]
    public async Task Completed_campaign_leaves_started_and_completed_events_with_final_stats()
    {
        var sender = await Sender.CloudAsync(_host);
        for (var i = 0; i < 6; i++)
        {
            await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "events" }, opted_in = i != 0 });
        }

        var id = Id(await CreateAsync(sender, new { name = "Events", template = new { name = "promo", language = "en_US" }, audience = new { tags = new[] { "events" } } }));
        var done = await WaitForStatusAsync(sender, id, "completed");

        var events = await OutboxAsync(sender, id);
        Assert.Equal(new[] { $"o_campaign_{id}_completed_0", $"o_campaign_{id}_started_0" }, events.Keys.Order(StringComparer.Ordinal).ToList());
        var started = events[$"o_campaign_{id}_started_0"];
        var completed = events[$"o_campaign_{id}_completed_0"];
        Assert.Equal("campaign.started", started.GetString("Event"));
        Assert.Equal("campaign.completed", completed.GetString("Event"));
        using var startedData = JsonDocument.Parse(started.GetString("Data"));
        using var completedData = JsonDocument.Parse(completed.GetString("Data"));
        Assert.Equal(id, startedData.RootElement.GetProperty("id").GetString());
        Assert.Equal("running", startedData.RootElement.GetProperty("status").GetString());
        var final = completedData.RootElement;
        Assert.Equal(id, final.GetProperty("id").GetString());
        Assert.Equal("completed", final.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, final.GetProperty("completed_at").ValueKind);
        Assert.Equal((6L, 0L, 5L, 1L, 0L), (Stat(final, "total"), Stat(final, "queued"), Stat(final, "sent"), Stat(final, "skipped"), Stat(final, "failed")));
        Assert.Equal(1, final.GetProperty("skipped_by_reason").GetProperty("opted_out").GetInt64());
        Assert.Equal(done.GetProperty("stats").GetRawText(), final.GetProperty("stats").GetRawText());
    }
}
