using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// Sends that reach WhatsApp users known only by their business-scoped user id (BSUID): <c>POST /messages/send</c>
/// takes <c>to</c>, <c>contact_id</c> or <c>user_id</c>, and Meta is given the phone in <c>to</c> when one is known,
/// otherwise the user id in <c>recipient</c> (research §1.4), against the loopback Graph API.
/// </summary>
public sealed class UsernameSendTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _graph.Templates.Add(new { id = "1090", name = "login_code", language = "en_US", category = "AUTHENTICATION", status = "APPROVED", components = new object[] { new { type = "BODY", text = "{{1}} is your code." } } });
        _host = await TestHost.StartAsync(_graph.Settings());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    private static async Task<string> ContactAsync(Sender sender, object body) =>
        (await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", body), HttpStatusCode.Created)).GetProperty("id").GetString()!;

    private JsonElement BodyMetaGot(string messageId) =>
        _graph.Sends.Single(s => s.Wamid is not null && s.Body.GetProperty("biz_opaque_callback_data").GetString()!.EndsWith(messageId, StringComparison.Ordinal)).Body;

    [Fact]
    public async Task A_send_by_user_id_to_a_phone_less_contact_goes_to_meta_as_recipient_and_answers_its_contact_and_user_id()
    {
        var sender = await Sender.CloudAsync(_host);
        var userId = MetaWebhook.NewUserId();
        var contactId = await ContactAsync(sender, new { wa_user_id = userId, username = "@realsheenanelson", name = "Sheena Nelson" });

        var accepted = await Envelope.SuccessAsync(await sender.SendAsync(new { user_id = userId, type = "template", template = new { name = "hello_world", language = "en_US" } }), HttpStatusCode.Accepted);

        var id = accepted.GetProperty("message_id").GetString()!;
        Assert.Equal(JsonValueKind.Null, accepted.GetProperty("to").ValueKind);
        Assert.Equal(userId, accepted.GetProperty("user_id").GetString());
        Assert.Equal(contactId, accepted.GetProperty("contact_id").GetString());
        var sent = await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent by user id");
        Assert.Equal(JsonValueKind.Null, sent.GetProperty("to").ValueKind);
        Assert.Equal(userId, sent.GetProperty("user_id").GetString());
        var body = BodyMetaGot(id);
        Assert.Equal(userId, body.GetProperty("recipient").GetString());
        Assert.Equal("individual", body.GetProperty("recipient_type").GetString());
        Assert.False(body.TryGetProperty("to", out _));
    }

    [Fact]
    public async Task A_send_by_contact_id_goes_to_the_contacts_phone_when_it_has_one_even_with_a_user_id()
    {
        var sender = await Sender.CloudAsync(_host);
        var phone = Sender.NewPhone();
        var userId = MetaWebhook.NewUserId();
        var contactId = await ContactAsync(sender, new { phone_number = phone, wa_user_id = userId });

        var id = await Sender.AcceptedIdAsync(await sender.SendAsync(new { contact_id = contactId, type = "template", template = new { name = "hello_world", language = "en_US" } }));

        var sent = await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent by contact id");
        Assert.Equal(phone, sent.GetProperty("to").GetString());
        Assert.Equal(userId, sent.GetProperty("user_id").GetString());
        var body = BodyMetaGot(id);
        Assert.Equal(phone.TrimStart('+'), body.GetProperty("to").GetString());
        Assert.False(body.TryGetProperty("recipient", out _));
    }

    [Fact]
    public async Task A_template_to_a_user_id_never_seen_creates_the_contact_by_that_user_id()
    {
        var sender = await Sender.CloudAsync(_host);
        var userId = MetaWebhook.NewUserId();

        var accepted = await Envelope.SuccessAsync(await sender.SendAsync(new { user_id = userId, type = "template", template = new { name = "hello_world", language = "en_US" } }), HttpStatusCode.Accepted);

        var contact = await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + accepted.GetProperty("contact_id").GetString()));
        Assert.Equal(userId, contact.GetProperty("wa_user_id").GetString());
        Assert.Equal(JsonValueKind.Null, contact.GetProperty("phone_number").ValueKind);
        await sender.MessageWhenAsync(accepted.GetProperty("message_id").GetString()!, Sender.StatusIs("sent"), "sent");
    }

    [Fact]
    public async Task The_window_and_opt_out_rules_hold_for_a_phone_less_contact()
    {
        var sender = await Sender.CloudAsync(_host);
        var userId = MetaWebhook.NewUserId();
        var contactId = await ContactAsync(sender, new { wa_user_id = userId });
        await Envelope.SuccessAsync(await sender.Api.PutAsync("contacts/" + contactId, new { opted_in = false }));

        var text = await sender.SendAsync(new { user_id = userId, type = "text", text = "Hello" });
        var marketing = await sender.SendAsync(new { contact_id = contactId, type = "template", template = new { name = "promo", language = "en_US" } });

        await Envelope.ErrorAsync(text, HttpStatusCode.UnprocessableEntity, "outside_service_window");
        await Envelope.ErrorAsync(marketing, HttpStatusCode.UnprocessableEntity, "contact_opted_out");
        Assert.Empty(_graph.Sends);
    }

    [Fact]
    public async Task An_authentication_template_to_a_contact_known_only_by_user_id_is_refused_at_request_time()
    {
        var sender = await Sender.CloudAsync(_host);
        var userId = MetaWebhook.NewUserId();
        await ContactAsync(sender, new { wa_user_id = userId });

        var refused = await sender.SendAsync(new { user_id = userId, type = "template", template = new { name = "login_code", language = "en_US", components = new[] { new { type = "body", parameters = new[] { new { type = "text", text = "123456" } } } } } });
        var toPhone = await sender.SendAsync(new { to = Sender.NewPhone(), type = "template", template = new { name = "login_code", language = "en_US", components = new[] { new { type = "body", parameters = new[] { new { type = "text", text = "123456" } } } } } });

        await Envelope.ErrorAsync(refused, HttpStatusCode.UnprocessableEntity, "recipient_needs_phone");
        await Envelope.SuccessAsync(toPhone, HttpStatusCode.Accepted);
    }

    [Theory]
    [InlineData("""{"to":"+14155550123","user_id":"US.13491208655302741918","type":"text","text":"hi"}""", "to")]
    [InlineData("""{"to":"+14155550123","contact_id":"ct_x","type":"text","text":"hi"}""", "to")]
    [InlineData("""{"type":"text","text":"hi"}""", "to")]
    [InlineData("""{"user_id":"+14155550123","type":"text","text":"hi"}""", "user_id")]
    [InlineData("""{"user_id":"us.1349","type":"text","text":"hi"}""", "user_id")]
    public async Task A_send_names_exactly_one_recipient_and_a_user_id_is_never_read_as_a_phone(string json, string field)
    {
        var sender = await Sender.CloudAsync(_host);
        using var request = new HttpRequestMessage(HttpMethod.Post, "messages/send") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-API-Key", sender.Key);

        var error = await Envelope.ErrorAsync(await _host.Client.SendAsync(request), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(error.GetProperty("errors").TryGetProperty(field, out _), error.ToString());
        Assert.Empty(_graph.Sends);
    }

    [Fact]
    public async Task A_send_to_a_contact_id_the_workspace_does_not_have_is_422_contact_not_found()
    {
        var sender = await Sender.CloudAsync(_host);

        var error = await Envelope.ErrorAsync(await sender.SendAsync(new { contact_id = "ct_22ead85fde5b474071db8c34", type = "template", template = new { name = "hello_world", language = "en_US" } }), HttpStatusCode.UnprocessableEntity, "contact_not_found");

        Assert.True(error.GetProperty("errors").TryGetProperty("contact_id", out _));
    }
}
