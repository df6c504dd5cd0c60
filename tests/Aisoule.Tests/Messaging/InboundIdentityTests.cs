using System.Net;
using System.Text.Json;
using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// Meta's webhooks since BSUIDs and usernames (research §1.3, §5): a message without a phone, the same with one,
/// system identity changes and statuses without <c>contacts</c>, in Meta's documented shapes, through the signed webhook.
/// </summary>
public sealed class InboundIdentityTests : IAsyncLifetime
{
    private const string Bsuid = "US.13491208655302741918";
    private const string Parent = "US.ENT.11815799212886844830";

    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:SandboxStatusDelay"] = "00:10:00" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_message_from_a_username_user_without_a_phone_creates_the_contact_by_user_id_and_is_stored_with_its_event()
    {
        var sender = await Sender.SandboxAsync(_host);
        var wamid = MetaWebhook.NewWamid();

        await PostAsync(sender, WithheldPhone(wamid));

        var contact = await SingleContactAsync(sender, c => c.GetProperty("last_inbound_at").ValueKind == JsonValueKind.String);
        Assert.Equal(JsonValueKind.Null, contact.GetProperty("phone_number").ValueKind);
        Assert.Equal(Bsuid, contact.GetProperty("wa_user_id").GetString());
        Assert.Equal(Parent, contact.GetProperty("wa_parent_user_id").GetString());
        Assert.Equal("@realsheenanelson", contact.GetProperty("username").GetString());
        Assert.Equal("Sheena Nelson", contact.GetProperty("name").GetString());

        var row = await InboundRowAsync(sender);
        Assert.Null(row.GetString("From"));
        Assert.Equal(Bsuid, row.GetString("FromUserId"));
        Assert.Equal("@realsheenanelson", row.GetString("Username"));
        Assert.Equal(contact.GetProperty("id").GetString(), row.GetString("ContactId"));
        Assert.Equal("Does it come in another color?", row.GetString("Text"));

        var incoming = JsonDocument.Parse(Assert.Single(await sender.EventsAsync("message.incoming"))).RootElement;
        Assert.Equal(JsonValueKind.Null, incoming.GetProperty("from").ValueKind);
        Assert.Equal(Bsuid, incoming.GetProperty("from_user_id").GetString());
        Assert.Equal("@realsheenanelson", incoming.GetProperty("username").GetString());
        Assert.Equal(contact.GetProperty("id").GetString(), incoming.GetProperty("contact_id").GetString());
        Assert.Equal(wamid, incoming.GetProperty("message_id").GetString());
    }

    [Fact]
    public async Task A_message_with_both_phone_and_user_id_links_them_on_the_existing_phone_contact_and_later_phoneless_messages_find_it()
    {
        var sender = await Sender.SandboxAsync(_host);
        var existing = await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", new { phone_number = "+16505551234", name = "Sheena (CRM)" }), HttpStatusCode.Created);

        await PostAsync(sender, WithPhone(MetaWebhook.NewWamid(), "16505551234"));
        var linked = await SingleContactAsync(sender, c => c.GetProperty("wa_user_id").ValueKind == JsonValueKind.String);
        await PostAsync(sender, WithheldPhone(MetaWebhook.NewWamid()));
        await Eventually.WaitAsync(() => sender.EventsAsync("message.incoming"), e => e.Count == 2, what: "both messages stored");

        var contact = await SingleContactAsync(sender, _ => true);
        Assert.Equal(existing.GetProperty("id").GetString(), linked.GetProperty("id").GetString());
        Assert.Equal(existing.GetProperty("id").GetString(), contact.GetProperty("id").GetString());
        Assert.Equal("+16505551234", contact.GetProperty("phone_number").GetString());
        Assert.Equal(Bsuid, contact.GetProperty("wa_user_id").GetString());
        Assert.Equal("Sheena (CRM)", contact.GetProperty("name").GetString());
        var events = (await sender.EventsAsync("message.incoming")).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(events, e => Assert.Equal(contact.GetProperty("id").GetString(), e.GetProperty("contact_id").GetString()));
        Assert.Contains(events, e => e.GetProperty("from").ValueKind == JsonValueKind.String && e.GetProperty("from").GetString() == "+16505551234");
    }

    [Fact]
    public async Task A_user_changed_number_system_message_moves_the_contact_to_the_new_user_id_and_phone()
    {
        var sender = await Sender.SandboxAsync(_host);
        await PostAsync(sender, WithPhone(MetaWebhook.NewWamid(), "16505551234"));
        var before = await SingleContactAsync(sender, c => c.GetProperty("wa_user_id").ValueKind == JsonValueKind.String);

        await PostAsync(sender, $$$"""
            {"messages":[{"from":"16505551234","from_user_id":"{{{Bsuid}}}","id":"{{{MetaWebhook.NewWamid()}}}","timestamp":"1749416400","type":"system",
              "system":{"body":"User Sheena Nelson changed from 16505551234 to 16505559876","wa_id":"16505559876",
                "user_id":"US.20000000000000000001","parent_user_id":"{{{Parent}}}",
                "previous_user_id":"{{{Bsuid}}}","previous_parent_user_id":"{{{Parent}}}","type":"user_changed_number"}}]}
            """);

        var after = await SingleContactAsync(sender, c => c.GetProperty("wa_user_id").GetString() == "US.20000000000000000001");
        Assert.Equal(before.GetProperty("id").GetString(), after.GetProperty("id").GetString());
        Assert.Equal("+16505559876", after.GetProperty("phone_number").GetString());

        // The next message from the new id finds the moved contact; the system notice itself was not stored as a message.
        await PostAsync(sender, WithheldPhone(MetaWebhook.NewWamid(), "US.20000000000000000001"));
        await Eventually.WaitAsync(() => sender.EventsAsync("message.incoming"), e => e.Count == 1, what: "the later message stored");
        Assert.Equal(before.GetProperty("id").GetString(), (await SingleContactAsync(sender, _ => true)).GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_user_changed_user_id_system_message_moves_only_the_user_id()
    {
        var sender = await Sender.SandboxAsync(_host);
        await PostAsync(sender, WithheldPhone(MetaWebhook.NewWamid()));
        var before = await SingleContactAsync(sender, _ => true);

        await PostAsync(sender, $$$"""
            {"messages":[{"from_user_id":"{{{Bsuid}}}","id":"{{{MetaWebhook.NewWamid()}}}","timestamp":"1749416400","type":"system",
              "system":{"body":"User changed","user_id":"US.30000000000000000003","previous_user_id":"{{{Bsuid}}}","type":"user_changed_user_id"}}]}
            """);

        var after = await SingleContactAsync(sender, c => c.GetProperty("wa_user_id").GetString() == "US.30000000000000000003");
        Assert.Equal(before.GetProperty("id").GetString(), after.GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("phone_number").ValueKind);
        Assert.Equal("@realsheenanelson", after.GetProperty("username").GetString());

        // The old id is free: a message from it now is a new person.
        await PostAsync(sender, WithheldPhone(MetaWebhook.NewWamid()));
        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")), c => c.GetProperty("total").GetInt32() == 2, what: "a second contact for the freed id");
    }

    [Fact]
    public async Task A_user_changed_number_in_the_older_shape_without_user_ids_moves_the_phone()
    {
        var sender = await Sender.SandboxAsync(_host);
        var before = await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", new { phone_number = "+16315551234", name = "Old shape" }), HttpStatusCode.Created);

        await PostAsync(sender, $$$"""
            {"messages":[{"from":"16315551234","id":"{{{MetaWebhook.NewWamid()}}}","timestamp":"1749416400","type":"system",
              "system":{"body":"Old shape changed from 1 (631) 555-1234 to 1 (631) 555-4321","wa_id":"16315554321","type":"user_changed_number"}}]}
            """);

        var after = await SingleContactAsync(sender, c => c.GetProperty("phone_number").GetString() == "+16315554321");
        Assert.Equal(before.GetProperty("id").GetString(), after.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_failed_status_without_contacts_fails_the_message_by_its_wamid()
    {
        var sender = await Sender.SandboxAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        var wamid = (await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent")).GetProperty("wamid").GetString()!;

        // Meta's §5 sample as sent (no contacts, no recipient_user_id, no pricing), with our wamid.
        await PostAsync(sender, $$$"""
            {"statuses":[{"id":"{{{wamid}}}","status":"failed","timestamp":"1750030073","recipient_id":"16505551234",
              "errors":[{"code":131049,"title":"This message was not delivered to maintain healthy ecosystem engagement.",
                "message":"This message was not delivered to maintain healthy ecosystem engagement.",
                "error_data":{"details":"In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
                "href":"/documentation/business-messaging/whatsapp/support/error-codes"}]}]}
            """);

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed");
        Assert.Equal("131049", failed.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("recipient_parent_user_id")]
    [InlineData("parent_recipient_user_id")]
    public async Task A_delivered_status_sent_to_a_user_id_without_recipient_id_moves_the_message(string parentField)
    {
        var sender = await Sender.SandboxAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        var wamid = (await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent")).GetProperty("wamid").GetString()!;

        await PostAsync(sender, $$$"""
            {"contacts":[{"profile":{"name":"Sheena Nelson","username":"@realsheenanelson"},"user_id":"{{{Bsuid}}}","parent_user_id":"{{{Parent}}}"}],
             "statuses":[{"id":"{{{wamid}}}","status":"delivered","timestamp":"1750030073",
               "recipient_user_id":"{{{Bsuid}}}","{{{parentField}}}":"{{{Parent}}}"}]}
            """);

        await sender.MessageWhenAsync(id, Sender.StatusIs("delivered"), "delivered");
    }

    [Fact]
    public async Task Identity_fields_that_are_not_what_meta_documents_are_ignored_or_cut_and_never_stop_the_change()
    {
        var sender = await Sender.SandboxAsync(_host);
        var longUsername = "@" + string.Concat(Enumerable.Repeat("a😀\u0001", 3_000));

        // One change, applied in order: if any item threw, the last (good) message would never be stored. Two contacts[]
        // entries, so a message whose own sender fields are unusable is not attributed to the change's only contact.
        await PostAsync(sender, $$$"""
            {"contacts":[{"profile":{"name":"Long","username":{{{JsonSerializer.Serialize(longUsername)}}}},"user_id":"US.4000"},{"profile":{"name":"Good"},"user_id":"US.5000"}],
             "messages":[
              {"from_user_id":"13491208655302741918","id":"{{{MetaWebhook.NewWamid()}}}","type":"text","text":{"body":"phone-like id, no phone"}},
              {"from_user_id":12345,"id":"{{{MetaWebhook.NewWamid()}}}","type":"text","text":{"body":"numeric id"}},
              {"from_user_id":"US.4000","id":"{{{MetaWebhook.NewWamid()}}}","type":"system","system":{"type":"user_changed_user_id","user_id":"US.4001","previous_user_id":"not an id"}},
              {"from_user_id":"US.4000","id":"{{{MetaWebhook.NewWamid()}}}","type":"system","system":"not an object"},
              {"from_user_id":"US.4000","id":"{{{MetaWebhook.NewWamid()}}}","type":"text","text":{"body":"long username"}},
              {"from_user_id":"US.5000","id":"{{{MetaWebhook.NewWamid()}}}","type":"text","text":{"body":"good"}}]}
            """);

        var list = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")),
            l => l.GetProperty("contacts").EnumerateArray().Any(c => c.GetProperty("wa_user_id").GetString() == "US.5000"), what: "the last message applied");
        var contacts = list.GetProperty("contacts").EnumerateArray().ToList();
        Assert.Equal(["US.4000", "US.5000"], contacts.Select(c => c.GetProperty("wa_user_id").GetString()!).Order(StringComparer.Ordinal));
        var cut = contacts.Single(c => c.GetProperty("wa_user_id").GetString() == "US.4000").GetProperty("username").GetString()!;
        Assert.True(cut.Length <= 64 && longUsername.StartsWith(cut, StringComparison.Ordinal), cut);
        Assert.Equal(2, (await sender.EventsAsync("message.incoming")).Count);
    }

    /// <summary>Meta's §1.3 example: a text from a username user whose phone is withheld (Meta's "uUS." typo corrected).</summary>
    private static string WithheldPhone(string wamid, string userId = Bsuid) => $$$"""
        {"contacts":[{"profile":{"name":"Sheena Nelson","username":"@realsheenanelson"},
           "user_id":"{{{userId}}}","parent_user_id":"{{{Parent}}}"}],
         "messages":[{"from_user_id":"{{{userId}}}","from_parent_user_id":"{{{Parent}}}",
           "id":"{{{wamid}}}","timestamp":"1749416383",
           "type":"text","text":{"body":"Does it come in another color?"}}]}
        """;

    /// <summary>The same message when Meta shares the phone (§1.2): <c>wa_id</c> and <c>from</c> added.</summary>
    private static string WithPhone(string wamid, string phone) => $$$"""
        {"contacts":[{"profile":{"name":"Sheena Nelson","username":"@realsheenanelson"},"wa_id":"{{{phone}}}",
           "user_id":"{{{Bsuid}}}","parent_user_id":"{{{Parent}}}"}],
         "messages":[{"from":"{{{phone}}}","from_user_id":"{{{Bsuid}}}","from_parent_user_id":"{{{Parent}}}",
           "id":"{{{wamid}}}","timestamp":"1749416383",
           "type":"text","text":{"body":"Does it come in another color?"}}]}
        """;

    private async Task PostAsync(Sender sender, string valueJson) =>
        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Change(sender.PhoneNumberId, valueJson)));

    private static async Task<JsonElement> SingleContactAsync(Sender sender, Func<JsonElement, bool> done)
    {
        var list = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")),
            l => l.GetProperty("total").GetInt32() == 1 && done(l.GetProperty("contacts")[0]), what: "the one contact as expected");
        return list.GetProperty("contacts")[0];
    }

    private async Task<TableEntity> InboundRowAsync(Sender sender)
    {
        var table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages);
        var rows = await table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {sender.Owner.WorkspaceId} and RowKey ge {"i_"} and RowKey lt {"i`"}")).ToListAsync();
        return Assert.Single(rows);
    }
}
