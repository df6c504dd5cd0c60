using System.Net;
using System.Text.Json;
using Aisoule.Core.Messaging.Inbound;
using Aisoule.Core.WhatsApp;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>Meta's webhook: handshake, signature over the raw bytes, inbound messages, statuses forward only, once.</summary>
public sealed class WhatsAppWebhookTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:SandboxStatusDelay"] = "00:10:00" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Subscribe_handshake_answers_the_challenge_with_the_right_verify_token_only()
    {
        var ok = await _host.Client.GetAsync($"whatsapp/webhook?hub.mode=subscribe&hub.verify_token={MetaWebhook.VerifyToken}&hub.challenge=1158201444");
        var wrong = await _host.Client.GetAsync("whatsapp/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("1158201444", await ok.Content.ReadAsStringAsync());
        await Envelope.ErrorAsync(wrong, HttpStatusCode.Forbidden, "verification_failed");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("sha256=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha1=abc")]
    public async Task Bad_or_missing_signature_is_a_401_and_nothing_is_stored(string? signature)
    {
        var sender = await Sender.SandboxAsync(_host);
        var phone = Sender.NewPhone();
        var body = MetaWebhook.Inbound(sender.PhoneNumberId, phone.TrimStart('+'), "wamid.BAD" + Guid.NewGuid().ToString("N"), "hi");

        using var request = new HttpRequestMessage(HttpMethod.Post, "whatsapp/webhook") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        if (signature is not null)
        {
            request.Headers.Add("X-Hub-Signature-256", signature);
        }

        await Envelope.ErrorAsync(await _host.Client.SendAsync(request), HttpStatusCode.Unauthorized, "invalid_signature");
        await Task.Delay(700);
        var contacts = await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts"));
        Assert.Equal(0, contacts.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task A_signature_over_other_bytes_is_refused_even_if_the_json_is_the_same()
    {
        var sender = await Sender.SandboxAsync(_host);
        var body = MetaWebhook.Inbound(sender.PhoneNumberId, "14155550123", "wamid.X" + Guid.NewGuid().ToString("N"), "hi");
        var signature = WebhookSignature.Sign(System.Text.Encoding.UTF8.GetBytes(body), MetaWebhook.AppSecret);

        var response = await MetaWebhook.PostAsync(_host.Client, body + " ", signature);

        await Envelope.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_signature");
    }

    [Fact]
    public async Task A_change_too_large_for_one_queue_message_is_queued_one_event_at_a_time_and_every_event_is_applied()
    {
        var sender = await Sender.SandboxAsync(_host);
        var texts = Enumerable.Range(0, 30).Select(_ => (Sender.NewPhone().TrimStart('+'), new string('x', 3_000))).DistinctBy(t => t.Item1).ToList();
        var body = BatchBody(sender.PhoneNumberId, texts);
        Assert.True(body.Length > InboundChanges.MaxChangeBytes);

        var answer = await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, body));

        Assert.Equal(texts.Count, answer.GetProperty("received").GetInt32());
        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")),
            c => c.GetProperty("total").GetInt32() == texts.Count, what: "every inbound message of the split change applied");
    }

    [Fact]
    public async Task An_event_too_large_for_a_queue_message_even_alone_is_a_413_and_nothing_of_the_body_is_queued()
    {
        var sender = await Sender.SandboxAsync(_host);
        var body = BatchBody(sender.PhoneNumberId, [(Sender.NewPhone().TrimStart('+'), "hi"), (Sender.NewPhone().TrimStart('+'), new string('x', 50_000))]);

        await Envelope.ErrorAsync(await MetaWebhook.PostAsync(_host.Client, body), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");

        // A later message is applied; the refused body's small message never was.
        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Inbound(sender.PhoneNumberId, Sender.NewPhone().TrimStart('+'), "wamid.AFTER" + Guid.NewGuid().ToString("N"), "hi")));
        var contacts = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")),
            c => c.GetProperty("total").GetInt32() >= 1, what: "the later message applied");
        Assert.Equal(1, contacts.GetProperty("total").GetInt32());
    }

    /// <summary>One webhook change holding an inbound text message from each (phone, text), as Meta batches them.</summary>
    private static string BatchBody(string phoneNumberId, IReadOnlyList<(string Phone, string Text)> messages)
    {
        var value = new
        {
            messaging_product = "whatsapp",
            metadata = new { display_phone_number = "15550100999", phone_number_id = phoneNumberId },
            contacts = messages.Select(m => new { profile = new { name = "Batch" }, wa_id = m.Phone }).ToArray(),
            messages = messages.Select(m => new
            {
                from = m.Phone,
                id = "wamid.BATCH" + Guid.NewGuid().ToString("N"),
                timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                type = "text",
                text = new { body = m.Text },
            }).ToArray(),
        };
        return JsonSerializer.Serialize(new { @object = "whatsapp_business_account", entry = new[] { new { id = "102290129340398", changes = new[] { new { field = "messages", value } } } } });
    }

    [Fact]
    public async Task Inbound_message_creates_the_contact_opens_its_window_and_is_applied_once_when_delivered_twice()
    {
        var sender = await Sender.SandboxAsync(_host);
        var phone = Sender.NewPhone();
        var body = MetaWebhook.Inbound(sender.PhoneNumberId, phone.TrimStart('+'), "wamid.TWICE" + Guid.NewGuid().ToString("N"), "Do you ship to Pune?", "Asha");

        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, body));
        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, body));

        var contacts = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts")),
            c => c.GetProperty("total").GetInt32() == 1 && c.GetProperty("contacts")[0].GetProperty("last_inbound_at").ValueKind == JsonValueKind.String, what: "contact upserted");
        var contact = contacts.GetProperty("contacts")[0];
        Assert.Equal(phone, contact.GetProperty("phone_number").GetString());
        Assert.Equal("Asha", contact.GetProperty("name").GetString());
        await Task.Delay(1000);
        var incoming = await sender.EventsAsync("message.incoming");
        var evt = Assert.Single(incoming);
        Assert.Contains("Do you ship to Pune?", evt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_late_delivered_does_not_undo_read_and_each_status_counts_once()
    {
        var sender = await Sender.SandboxAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        var sent = await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        var wamid = sent.GetProperty("wamid").GetString()!;

        // Meta's order is not guaranteed, and it delivers at least once. No callback data: found by wamid.
        foreach (var status in new[] { "read", "delivered", "read", "delivered" })
        {
            await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Status(sender.PhoneNumberId, wamid, status)));
        }

        var read = await sender.MessageWhenAsync(id, Sender.StatusIs("read"), "read");
        await Task.Delay(1500);
        var final = await sender.MessageAsync(id);
        Assert.Equal("read", final.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, final.GetProperty("delivered_at").ValueKind);
        Assert.Single(await sender.EventsAsync("message.read"));
        Assert.Single(await sender.EventsAsync("message.delivered"));
        _ = read;
    }

    [Fact]
    public async Task A_failed_status_by_webhook_fails_the_message_with_metas_code_and_131050_opts_out()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();
        var id = await Sender.AcceptedIdAsync(await sender.SendAsync(new
        {
            to,
            type = "template",
            template = new { name = "spring_sale", language = "en_US", components = new[] { new { type = "body", parameters = new[] { new { type = "text", text = "20%" } } } } },
        }));
        var wamid = (await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent")).GetProperty("wamid").GetString()!;

        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Status(sender.PhoneNumberId, wamid, "failed", errorCode: 131050, errorTitle: "User has stopped marketing messages")));

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed");
        Assert.Equal("131050", failed.GetProperty("error").GetProperty("code").GetString());
        await Envelope.ErrorAsync(await sender.SendTemplateAsync(to, "spring_sale"), HttpStatusCode.UnprocessableEntity, "contact_opted_out");
    }

    [Fact]
    public async Task Events_for_an_unknown_phone_number_id_are_ignored_with_a_log_line()
    {
        var body = MetaWebhook.Inbound("000999888777", "14155550123", "wamid.UNKNOWN" + Guid.NewGuid().ToString("N"), "hi");

        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, body));

        await Eventually.WaitAsync(() => Task.FromResult(_host.Logs.AllText()), t => t.Contains("000999888777", StringComparison.Ordinal), what: "log line");
    }
}
