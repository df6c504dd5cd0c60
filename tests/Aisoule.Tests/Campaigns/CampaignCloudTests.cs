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

    [Fact]
    public async Task Failed_recipients_carry_metas_code_title_and_category_and_filter_by_category()
    {
        var sender = await Sender.CloudAsync(_host);
        var invalid = new HashSet<string>(StringComparer.Ordinal);
        var stopped = new HashSet<string>(StringComparer.Ordinal);
        var ok = new HashSet<string>(StringComparer.Ordinal);
        var phones = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < 10; i++)
        {
            var phone = Sender.NewPhone();
            var contact = await ContactAsync(sender, new { phone_number = phone, tags = new[] { "fails" } });
            phones[phone.TrimStart('+')] = contact;
            (i < 3 ? invalid : i < 5 ? stopped : ok).Add(contact);
        }

        _graph.OnSend = (_, body) => phones.TryGetValue(body.GetProperty("to").GetString() ?? "", out var c) && invalid.Contains(c)
            ? FakeGraphApi.Reply.MetaError(400, 131026, "Message undeliverable")
            : phones.TryGetValue(body.GetProperty("to").GetString() ?? "", out c) && stopped.Contains(c)
                ? FakeGraphApi.Reply.MetaError(400, 131050, "User has stopped marketing messages")
                : FakeGraphApi.Reply.Ok();

        var id = Id(await CreateAsync(sender, new { name = "Fails", template = new { name = "promo", language = "en_US" }, audience = new { tags = new[] { "fails" } } }));
        var done = await WaitForStatusAsync(sender, id, "completed");

        Assert.Equal((10L, 5L, 5L), (Stat(done, "total"), Stat(done, "sent"), Stat(done, "failed")));
        var failed = await RecipientsAsync(sender, id, "&status=failed");
        var recipientInvalid = await RecipientsAsync(sender, id, "&category=recipient_invalid");
        var optedOut = await RecipientsAsync(sender, id, "&category=opted_out&status=failed");
        var retryable = await RecipientsAsync(sender, id, "&category=retryable");
        Assert.Equal(invalid.Concat(stopped).Order(StringComparer.Ordinal), ContactIds(failed));
        Assert.Equal(invalid.Order(StringComparer.Ordinal), ContactIds(recipientInvalid));
        Assert.All(recipientInvalid, r =>
        {
            var error = r.GetProperty("error");
            Assert.Equal(("131026", "Message undeliverable", "recipient_invalid"), (error.GetProperty("code").GetString(), error.GetProperty("title").GetString(), error.GetProperty("category").GetString()));
        });
        Assert.Equal(stopped.Order(StringComparer.Ordinal), ContactIds(optedOut));
        Assert.All(optedOut, r => Assert.Equal("131050", r.GetProperty("error").GetProperty("code").GetString()));
        Assert.Empty(retryable);
        Assert.All(await RecipientsAsync(sender, id, "&status=sent"), r => Assert.Equal(JsonValueKind.Null, r.GetProperty("error").ValueKind));
    }

    [Fact]
    public async Task Manual_pause_leaves_one_paused_event_and_after_resume_the_campaign_completes_sending_each_once_and_resuming_a_running_one_is_409()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 4);
        var phones = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            var phone = Sender.NewPhone();
            await ContactAsync(sender, new { phone_number = phone, tags = new[] { "hold" } });
            phones.Add(phone.TrimStart('+'));
        }

        var id = Id(await CreateAsync(sender, new { name = "Hold", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "hold" } } }));
        var paused = await Envelope.SuccessAsync(await ActAsync(sender, id, "pause"));
        var pausedAgain = await Envelope.SuccessAsync(await ActAsync(sender, id, "pause"));
        var events = await OutboxAsync(sender, id);

        Assert.Equal(("paused", "manual"), (paused.GetProperty("status").GetString(), paused.GetProperty("pause_reason").GetString()));
        Assert.Equal("paused", pausedAgain.GetProperty("status").GetString());
        // One event per pause, however often it is asked for (numbered by the campaign's pause count).
        var pausedEvent = Assert.Single(events, e => e.Key.StartsWith($"o_campaign_{id}_paused_", StringComparison.Ordinal)).Value;
        Assert.Equal("campaign.paused", pausedEvent.GetString("Event"));
        using (var data = JsonDocument.Parse(pausedEvent.GetString("Data")))
        {
            Assert.Equal(("paused", "manual"), (data.RootElement.GetProperty("status").GetString(), data.RootElement.GetProperty("pause_reason").GetString()));
        }

        var resumed = await Envelope.SuccessAsync(await ActAsync(sender, id, "resume"));
        Assert.Equal("running", resumed.GetProperty("status").GetString());
        await Envelope.ErrorAsync(await ActAsync(sender, id, "resume"), System.Net.HttpStatusCode.Conflict, "invalid_campaign_state");
        var done = await WaitForStatusAsync(sender, id, "completed");
        Assert.Equal(16, Stat(done, "sent"));
        var wanted = phones.ToHashSet(StringComparer.Ordinal);
        Assert.Equal(phones.Order(StringComparer.Ordinal), _graph.Sends.Select(s => s.Body.GetProperty("to").GetString()!).Where(wanted.Contains).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Campaign_whose_account_was_removed_before_it_started_fails_with_the_reason_and_sends_nothing()
    {
        var sender = await Sender.CloudAsync(_host);
        var phone = Sender.NewPhone();
        await ContactAsync(sender, new { phone_number = phone, tags = new[] { "orphan" } });
        var id = Id(await CreateAsync(sender, new { name = "Orphan", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "orphan" } }, scheduled_at = Utc(DateTimeOffset.UtcNow.AddHours(1)) }));
        await Envelope.SuccessAsync(await sender.Owner.SendAsync(HttpMethod.Delete, "accounts/" + sender.AccountId));

        await Envelope.SuccessAsync(await PatchAsync(sender, id, new { scheduled_at = Utc(DateTimeOffset.UtcNow) }));
        var failed = await WaitForStatusAsync(sender, id, "failed");

        Assert.Equal("account_disconnected", failed.GetProperty("failure").GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(failed.GetProperty("failure").GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, failed.GetProperty("completed_at").ValueKind);
        var events = await OutboxAsync(sender, id);
        Assert.Equal("campaign.completed", events[$"o_campaign_{id}_completed_0"].GetString("Event"));
        Assert.DoesNotContain(_graph.Sends, s => s.Body.GetProperty("to").GetString() == phone.TrimStart('+'));
        await Envelope.ErrorAsync(await ActAsync(sender, id, "cancel"), System.Net.HttpStatusCode.Conflict, "invalid_campaign_state");
        var again = new { name = "Again", whatsapp_account_id = sender.AccountId, template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "orphan" } } };
        await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", again), System.Net.HttpStatusCode.UnprocessableEntity, "account_disconnected");
    }

    [Fact]
    public async Task Another_workspaces_account_is_400_naming_whatsapp_account_id()
    {
        var sender = await Sender.CloudAsync(_host);
        var stranger = await Sender.CloudAsync(_host);

        var refused = await Envelope.ErrorAsync(
            await sender.Api.PostAsync("campaigns", new { name = "Borrowed", whatsapp_account_id = stranger.AccountId, template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "x" } } }),
            System.Net.HttpStatusCode.BadRequest,
            "validation_failed");

        Assert.True(refused.GetProperty("errors").TryGetProperty("whatsapp_account_id", out _), refused.ToString());
        Assert.Equal(0, (await Envelope.SuccessAsync(await sender.Api.GetAsync("campaigns"))).GetProperty("total").GetInt64());
    }
}
