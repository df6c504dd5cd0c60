using System.Security.Cryptography;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Azure.Data.Tables;
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

    [Fact]
    public async Task Releasing_a_window_together_still_releases_the_others_when_one_recipient_moved_meanwhile_and_each_only_once()
    {
        var ws = NewWorkspace();
        var id = "cmp_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var store = _host.Services.GetRequiredService<CampaignStore>();
        var lifecycle = _host.Services.GetRequiredService<MessageLifecycle>();
        var messages = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages);

        // 30 recipients in one partition (two transactions' worth) and 5 in another.
        var contacts = Enumerable.Range(0, 35).Select(i => NewContact(i < 30 ? 'a' : '3')).ToList();
        await _host.Services.GetRequiredService<CampaignPlanner>().WriteAsync(new CampaignPlanner.Plan([.. contacts.Select(c => Recipient(ws, id, c))], new Dictionary<string, long>()));
        var rows = new List<RecipientEntity>();
        foreach (var contact in contacts)
        {
            rows.Add((await messages.GetEntityAsync<RecipientEntity>(CampaignKeys.RecipientPartition(ws, contact), CampaignKeys.Recipient(id, contact))).Value);
        }

        // One of them is cancelled after the window read it: its ETag no longer matches.
        var moved = rows[7];
        await messages.UpdateEntityAsync(new TableEntity(moved.PartitionKey, moved.RowKey) { ["Status"] = RecipientStatus.Cancelled }, moved.ETag, TableUpdateMode.Merge);
        Release ReleaseOf(RecipientEntity r) => new(new NewMessage(ws, r.MessageId, r.ContactId, r.To, null, "template", "wa_1", "100", "{}", id), r.RowKey, r.ETag);

        var released = await lifecycle.ReleaseAllAsync([.. rows.Select(ReleaseOf)], 4);
        Assert.Equal(34, released.Count);
        Assert.DoesNotContain(released, m => m.Id == moved.MessageId);
        Assert.Null(await _host.Services.GetRequiredService<MessageStore>().FindAsync(ws, moved.MessageId));

        // The same window again (a step that did not hear the answers): nothing more is released.
        Assert.Empty(await lifecycle.ReleaseAllAsync([.. rows.Select(ReleaseOf)], 4));
        var counts = await store.CountsAsync(ws, id);
        Assert.Equal(34, counts.GetValueOrDefault(RecipientStatus.Queued));
        Assert.Equal(1, counts.GetValueOrDefault(RecipientStatus.Pending));
    }

    [Fact]
    public async Task Cancelling_after_a_window_was_cut_short_between_release_and_enqueue_cancels_its_messages_and_the_campaign_finishes()
    {
        var sender = await Sender.SandboxAsync(_host);
        var contact = (await CampaignHelpers.ContactsAsync(sender, 1, ["cut"]))[0];
        var id = (await CampaignHelpers.CreateAsync(sender, new { name = "Cut", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "cut" } }, draft = true })).GetProperty("id").GetString()!;
        var ws = sender.Owner.WorkspaceId;
        var store = _host.Services.GetRequiredService<CampaignStore>();
        var campaign = (await store.FindAsync(ws, id))!;

        // A step planned the contact, named its window on the fan-out row and released the recipient (its message is
        // stored), then its process died before the queue message was written.
        var recipient = Recipient(ws, id, contact);
        await _host.Services.GetRequiredService<CampaignPlanner>().WriteAsync(new CampaignPlanner.Plan([recipient], new Dictionary<string, long>()));
        var messages = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages);
        var stored = (await messages.GetEntityAsync<RecipientEntity>(recipient.PartitionKey, recipient.RowKey)).Value;
        var draft = new NewMessage(ws, stored.MessageId, contact, stored.To, null, "template", campaign.AccountId, campaign.PhoneNumberId, "{}", id);
        Assert.NotNull(await _host.Services.GetRequiredService<MessageLifecycle>().ReleaseAsync(draft, stored.RowKey, stored.ETag));
        var campaigns = await store.TableAsync();
        await campaigns.UpsertEntityAsync(new TableEntity(ws, CampaignKeys.Fanout(id)) { ["InFlight"] = stored.MessageId, ["WindowDone"] = false, ["LeaseUntil"] = DateTimeOffset.UtcNow.AddSeconds(-1) });

        // The caller cancels before the next step came.
        await Envelope.SuccessAsync(await sender.Api.PostAsync($"campaigns/{id}/cancel", new { }));

        var done = await Eventually.WaitAsync(() => CampaignHelpers.GetAsync(sender, id), c => CampaignHelpers.Stat(c, "queued") == 0, TimeSpan.FromSeconds(30), "the cut window's message cancelled");
        Assert.Equal(1, CampaignHelpers.Stat(done, "cancelled"));
        var message = await _host.Services.GetRequiredService<MessageStore>().FindAsync(ws, stored.MessageId);
        Assert.Equal((MessageStatus.Failed, CampaignLedger.CancelledCode), (message!.Status, message.ErrorCode));
        await Eventually.WaitAsync(async () => await campaigns.GetEntityIfExistsAsync<TableEntity>(CampaignKeys.ActivePartition, CampaignKeys.Active(ws, id)), r => !r.HasValue, TimeSpan.FromSeconds(30), "no longer active");
    }

    [Fact]
    public async Task A_recipient_whose_value_would_not_fit_the_stored_payload_is_skipped_as_value_too_large_and_the_others_are_sent()
    {
        var sender = await Sender.SandboxAsync(_host);
        var wide = new string('я', 6000);
        await CampaignHelpers.ContactsAsync(sender, 3, ["bio"], i => new { phone_number = Sender.NewPhone(), name = $"Contact {i}", tags = new[] { "bio" }, custom_fields = new { note = i == 0 ? wide : "A-" + i } });
        var components = new[] { new { type = "body", parameters = new[] { new { type = "text", text = "{{contact.name}}" }, new { type = "text", text = "{{contact.custom_fields.note}}" } } } };
        var id = (await CampaignHelpers.CreateAsync(sender, new { name = "Bio", template = new { name = "order_update", language = "en_US", components }, audience = new { tags = new[] { "bio" } } })).GetProperty("id").GetString()!;

        var done = await CampaignHelpers.WaitForStatusAsync(sender, id, "completed", TimeSpan.FromSeconds(45));
        Assert.Equal((3, 1), (CampaignHelpers.Stat(done, "total"), CampaignHelpers.Stat(done, "skipped")));
        Assert.Equal(1, done.GetProperty("skipped_by_reason").GetProperty("value_too_large").GetInt64());
        var skipped = await CampaignHelpers.RecipientsAsync(sender, id, "&status=skipped");
        Assert.Equal("value_too_large", Assert.Single(skipped).GetProperty("skip_reason").GetString());
    }
}
