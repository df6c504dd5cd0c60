using System.Text.Json;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>Inbound messages Meta can send are stored whole and never fail forever or half-write.</summary>
public sealed class InboundLimitsTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:SandboxStatusDelay"] = "00:10:00" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_text_of_4096_emoji_is_stored_whole_with_its_event_and_opens_the_window_and_nothing_is_poisoned()
    {
        var sender = await Sender.SandboxAsync(_host);
        var phone = Sender.NewPhone();
        var wamid = "wamid.EMOJI" + Guid.NewGuid().ToString("N");
        var text = string.Concat(Enumerable.Repeat("😀", 4_096));

        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Inbound(sender.PhoneNumberId, phone.TrimStart('+'), wamid, text)));

        var table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages);
        var evt = await Eventually.WaitAsync(async () => await table.GetEntityIfExistsAsync<TableEntity>(sender.Owner.WorkspaceId, MessageKeys.StatusEvent(wamid, "incoming")),
            r => r.HasValue, TimeSpan.FromSeconds(30), "the message.incoming event written");
        var data = JsonDocument.Parse(evt.Value!.GetString("Data")).RootElement;
        Assert.Equal(text, data.GetProperty("text").GetString());
        Assert.False(data.TryGetProperty("text_truncated", out _));
        var row = await table.GetEntityAsync<TableEntity>(sender.Owner.WorkspaceId, MessageKeys.Inbound(wamid));
        Assert.Equal(text, row.Value.GetString("Text"));

        var contacts = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")),
            c => c.GetProperty("total").GetInt32() == 1 && c.GetProperty("contacts")[0].GetProperty("last_inbound_at").ValueKind == JsonValueKind.String, what: "the window opened");
        Assert.Equal(phone, contacts.GetProperty("contacts")[0].GetProperty("phone_number").GetString());
        Assert.Empty(await PoisonedAsync());
    }

    [Fact]
    public async Task A_text_longer_than_any_event_can_hold_is_stored_cut_at_a_whole_character_and_flagged()
    {
        var sender = await Sender.SandboxAsync(_host);
        var wamid = "wamid.LONG" + Guid.NewGuid().ToString("N");
        // Longer than a string property holds, with an emoji across the limit; still under the queue message's 45,000 bytes.
        var text = new string('a', StoredSize.MaxStringChars - 1) + "😀" + new string('b', 1_000);

        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Inbound(sender.PhoneNumberId, Sender.NewPhone().TrimStart('+'), wamid, text)));

        var table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages);
        var evt = await Eventually.WaitAsync(async () => await table.GetEntityIfExistsAsync<TableEntity>(sender.Owner.WorkspaceId, MessageKeys.StatusEvent(wamid, "incoming")),
            r => r.HasValue, TimeSpan.FromSeconds(30), "the message.incoming event written");
        var json = evt.Value!.GetString("Data");
        Assert.True(json.Length <= StoredSize.MaxStringChars);
        var data = JsonDocument.Parse(json).RootElement;
        Assert.True(data.GetProperty("text_truncated").GetBoolean());
        var cut = data.GetProperty("text").GetString()!;
        Assert.StartsWith(cut, text, StringComparison.Ordinal);
        Assert.True(cut.Length > 32_000, $"kept only {cut.Length} characters");
        var row = (await table.GetEntityAsync<TableEntity>(sender.Owner.WorkspaceId, MessageKeys.Inbound(wamid))).Value;
        Assert.True(row.GetBoolean("TextTruncated"));
        Assert.Equal(new string('a', StoredSize.MaxStringChars - 1), row.GetString("Text"));
        Assert.Empty(await PoisonedAsync());
    }

    [Fact]
    public async Task A_profile_name_that_is_a_lone_surrogate_becomes_a_replacement_character_and_the_message_is_applied()
    {
        var sender = await Sender.SandboxAsync(_host);
        var phone = Sender.NewPhone();
        var wamid = "wamid.LONE" + Guid.NewGuid().ToString("N");
        var body = MetaWebhook.Inbound(sender.PhoneNumberId, phone.TrimStart('+'), wamid, "Do you ship to Pune?", "LONE_SURROGATE")
            .Replace("\"LONE_SURROGATE\"", "\"\\ud800\"", StringComparison.Ordinal);
        Assert.Contains("\\ud800", body, StringComparison.Ordinal);

        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, body));

        var table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages);
        var evt = await Eventually.WaitAsync(async () => await table.GetEntityIfExistsAsync<TableEntity>(sender.Owner.WorkspaceId, MessageKeys.StatusEvent(wamid, "incoming")),
            r => r.HasValue, TimeSpan.FromSeconds(30), "the message.incoming event written");
        var data = JsonDocument.Parse(evt.Value!.GetString("Data")).RootElement;
        Assert.Equal("Do you ship to Pune?", data.GetProperty("text").GetString());
        Assert.Equal("\uFFFD", data.GetProperty("contact_name").GetString());
        var contacts = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")),
            c => c.GetProperty("total").GetInt32() == 1 && c.GetProperty("contacts")[0].GetProperty("last_inbound_at").ValueKind == JsonValueKind.String, what: "the window opened");
        Assert.Equal("\uFFFD", contacts.GetProperty("contacts")[0].GetProperty("name").GetString());
        Assert.Empty(await PoisonedAsync());
    }

    private async Task<string[]> PoisonedAsync()
    {
        var poison = await _host.Services.GetRequiredService<StorageAccount>().GetQueueAsync(MessagingNames.InboundQueue + "-poison");
        return [.. (await poison.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString())];
    }
}
