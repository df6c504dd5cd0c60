using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>Meta's identity changes for contacts the workspace knew only by phone, before BSUIDs came.</summary>
public sealed class InboundIdentityChangeTests : IAsyncLifetime
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

    private static string Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task PostAsync(Sender sender, string valueJson) =>
        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Change(sender.PhoneNumberId, valueJson)));

    private static string Withheld(string userId) => $$$"""
        {"contacts":[{"profile":{"name":"Sheena Nelson","username":"@realsheenanelson"},"user_id":"{{{userId}}}"}],
         "messages":[{"from_user_id":"{{{userId}}}","id":"{{{MetaWebhook.NewWamid()}}}","timestamp":"{{{Now()}}}","type":"text","text":{"body":"hi, no phone"}}]}
        """;

    private static string WithPhone(string userId, string phoneDigits) => $$$"""
        {"contacts":[{"profile":{"name":"Sheena Nelson","username":"@realsheenanelson"},"wa_id":"{{{phoneDigits}}}","user_id":"{{{userId}}}"}],
         "messages":[{"from":"{{{phoneDigits}}}","from_user_id":"{{{userId}}}","id":"{{{MetaWebhook.NewWamid()}}}","timestamp":"{{{Now()}}}","type":"text","text":{"body":"hi, with phone"}}]}
        """;

    [Fact]
    public async Task A_person_known_by_phone_whose_first_reply_withheld_it_is_one_contact_again_once_a_message_carries_both()
    {
        var sender = await Sender.CloudAsync(_host);
        var phone = Sender.NewPhone();
        var userId = MetaWebhook.NewUserId();
        var crm = (await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", new { phone_number = phone, name = "Sheena (CRM)", opted_in = false, tags = new[] { "vip" } }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

        await PostAsync(sender, Withheld(userId));
        var twins = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")), l => l.GetProperty("total").GetInt32() == 2, what: "the withheld reply made a contact by BSUID");
        var twin = twins.GetProperty("contacts").EnumerateArray().Single(c => c.GetProperty("id").GetString() != crm).GetProperty("id").GetString()!;
        await Envelope.SuccessAsync(await sender.Api.PutAsync("contacts/" + twin, new { tags = new[] { "VIP", "asked-about-colours" } }));
        await PostAsync(sender, WithPhone(userId, phone.TrimStart('+')));
        var merged = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + crm)),
            c => c.GetProperty("wa_user_id").GetString() == userId, what: "the phone contact took the BSUID");

        // One contact: the phone one, with the BSUID, the username, its own opt-out and tags, and the window open.
        var list = await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts"));
        Assert.Equal(1, list.GetProperty("total").GetInt32());
        Assert.Equal(crm, list.GetProperty("contacts")[0].GetProperty("id").GetString());
        Assert.Equal("@realsheenanelson", merged.GetProperty("username").GetString());
        Assert.False(merged.GetProperty("opted_in").GetBoolean());
        Assert.Equal(["vip", "asked-about-colours"], merged.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(1, (await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts?tag=vip"))).GetProperty("total").GetInt32());
        await Envelope.ErrorAsync(await sender.Api.GetAsync("contacts/" + twin), HttpStatusCode.NotFound, "not_found");
        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + crm)),
            c => c.GetProperty("last_inbound_at").ValueKind == JsonValueKind.String, what: "the window is the phone contact's");

        // Free-form text by phone is inside the window; marketing by either identifier meets the opt-out.
        await Envelope.SuccessAsync(await sender.SendAsync(new { to = phone, type = "text", text = "Thanks for writing!" }), HttpStatusCode.Accepted);
        await Envelope.ErrorAsync(await sender.SendAsync(new { user_id = userId, type = "template", template = new { name = "promo", language = "en_US" } }), HttpStatusCode.UnprocessableEntity, "contact_opted_out");
        await Envelope.ErrorAsync(await sender.SendAsync(new { to = phone, type = "template", template = new { name = "promo", language = "en_US" } }), HttpStatusCode.UnprocessableEntity, "contact_opted_out");
    }

    [Fact]
    public async Task Metas_opt_out_for_a_message_sent_to_the_merged_away_contact_reaches_the_contact_that_absorbed_it()
    {
        var sender = await Sender.CloudAsync(_host);
        var phone = Sender.NewPhone();
        var userId = MetaWebhook.NewUserId();
        var crm = (await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", new { phone_number = phone, name = "Sheena (CRM)" }), HttpStatusCode.Created)).GetProperty("id").GetString()!;
        await PostAsync(sender, Withheld(userId));
        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")), l => l.GetProperty("total").GetInt32() == 2, what: "the withheld reply made a contact by BSUID");
        var id = await Sender.AcceptedIdAsync(await sender.SendAsync(new { user_id = userId, type = "template", template = new { name = "promo", language = "en_US" } }));
        var wamid = (await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent to the BSUID contact")).GetProperty("wamid").GetString()!;
        await PostAsync(sender, WithPhone(userId, phone.TrimStart('+')));
        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + crm)),
            c => c.GetProperty("wa_user_id").GetString() == userId, what: "merged into the phone contact");

        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Status(sender.PhoneNumberId, wamid, "failed", errorCode: 131050, errorTitle: "User has stopped marketing messages")));

        await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed by Meta");
        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + crm)),
            c => !c.GetProperty("opted_in").GetBoolean(), what: "the opt-out reached the phone contact");
    }

    [Fact]
    public async Task A_number_change_in_the_bsuid_shape_moves_a_contact_known_only_by_phone_and_its_next_message_finds_it()
    {
        var sender = await Sender.CloudAsync(_host);
        var (oldPhone, newPhone) = (Sender.NewPhone(), Sender.NewPhone());
        var (oldUser, newUser) = (MetaWebhook.NewUserId(), MetaWebhook.NewUserId());
        var crm = (await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", new { phone_number = oldPhone, name = "CRM" }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

        await PostAsync(sender, $$$"""
            {"messages":[{"from":"{{{oldPhone.TrimStart('+')}}}","from_user_id":"{{{oldUser}}}","id":"{{{MetaWebhook.NewWamid()}}}","timestamp":"{{{Now()}}}","type":"system",
              "system":{"body":"User CRM changed from {{{oldPhone}}} to {{{newPhone}}}","wa_id":"{{{newPhone.TrimStart('+')}}}",
                "user_id":"{{{newUser}}}","previous_user_id":"{{{oldUser}}}","type":"user_changed_number"}}]}
            """);
        var moved = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + crm)),
            c => c.GetProperty("phone_number").GetString() == newPhone && c.GetProperty("wa_user_id").GetString() == newUser, what: "the contact moved to its new phone and id");
        await PostAsync(sender, $$$"""
            {"contacts":[{"profile":{"name":"CRM"},"wa_id":"{{{newPhone.TrimStart('+')}}}","user_id":"{{{newUser}}}"}],
             "messages":[{"from":"{{{newPhone.TrimStart('+')}}}","from_user_id":"{{{newUser}}}","id":"{{{MetaWebhook.NewWamid()}}}","timestamp":"{{{Now()}}}","type":"text","text":{"body":"new phone"}}]}
            """);

        Assert.Equal(newUser, moved.GetProperty("wa_user_id").GetString());
        var replied = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + crm)),
            c => c.GetProperty("last_inbound_at").ValueKind == JsonValueKind.String, what: "the reply landed on the same contact");
        Assert.Equal(newPhone, replied.GetProperty("phone_number").GetString());
        var list = await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts"));
        Assert.Equal(1, list.GetProperty("total").GetInt32());
    }
}
