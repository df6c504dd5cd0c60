using System.Net;
using System.Text.Json;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>The embedded sandbox end to end: accounts, templates, request-time refusals, idempotency, statuses.</summary>
public sealed class SandboxMessagingTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task The_sandbox_reaches_a_username_user_by_user_id_and_its_statuses_carry_no_phone()
    {
        var sender = await Sender.SandboxAsync(_host);
        var userId = "US." + Random.Shared.NextInt64(1_000_000_000_000, 9_000_000_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);

        var accepted = await Envelope.SuccessAsync(await sender.SendAsync(new { user_id = userId, type = "template", template = new { name = "hello_world", language = "en_US" } }), System.Net.HttpStatusCode.Accepted);

        var read = await sender.MessageWhenAsync(accepted.GetProperty("message_id").GetString()!, Sender.StatusIs("read"), "read by the username user");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, read.GetProperty("to").ValueKind);
        Assert.Equal(userId, read.GetProperty("user_id").GetString());
    }

    [Fact]
    public async Task Every_workspace_has_a_connected_sandbox_account_and_no_token_is_shown()
    {
        var sender = await Sender.SandboxAsync(_host);

        var response = await sender.Api.GetAsync("accounts");

        var data = await Envelope.SuccessAsync(response);
        var account = Assert.Single(data.GetProperty("accounts").EnumerateArray());
        Assert.Equal("connected", account.GetProperty("status").GetString());
        Assert.Equal(80, account.GetProperty("throughput_mps").GetInt32());
        Assert.True(account.GetProperty("is_default").GetBoolean());
        Assert.DoesNotContain("token", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Sandbox_offers_approved_hello_world_in_en_US()
    {
        var sender = await Sender.SandboxAsync(_host);

        var data = await Envelope.SuccessAsync(await sender.Api.GetAsync("templates?status=APPROVED"));

        var hello = Assert.Single(data.GetProperty("templates").EnumerateArray(), t => t.GetProperty("name").GetString() == "hello_world");
        Assert.Equal("en_US", hello.GetProperty("language").GetString());
        Assert.All(data.GetProperty("templates").EnumerateArray(), t => Assert.Equal("APPROVED", t.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Template_send_is_accepted_as_queued_then_moves_to_sent_delivered_and_read()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();

        var response = await sender.SendTemplateAsync(to);

        var accepted = await Envelope.SuccessAsync(response, HttpStatusCode.Accepted);
        Assert.Equal("queued", accepted.GetProperty("status").GetString());
        Assert.Equal(to, accepted.GetProperty("to").GetString());
        Assert.Equal(sender.AccountId, accepted.GetProperty("whatsapp_account_id").GetString());
        var id = accepted.GetProperty("message_id").GetString()!;
        var read = await sender.MessageWhenAsync(id, Sender.StatusIs("read"), "read");
        Assert.StartsWith("wamid.", read.GetProperty("wamid").GetString());
        Assert.Equal(JsonValueKind.String, read.GetProperty("sent_at").ValueKind);
        Assert.Equal(JsonValueKind.String, read.GetProperty("delivered_at").ValueKind);
        Assert.Equal(JsonValueKind.String, read.GetProperty("read_at").ValueKind);
    }

    [Fact]
    public async Task Phone_numbers_are_written_with_a_plain_plus_not_a_json_escape()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();

        var raw = await (await sender.SendTemplateAsync(to)).Content.ReadAsStringAsync();

        Assert.Contains($"\"to\":\"{to}\"", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Free_form_text_outside_the_service_window_is_refused()
    {
        var sender = await Sender.SandboxAsync(_host);

        var response = await sender.SendAsync(new { to = Sender.NewPhone(), type = "text", text = "Hello" });

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.UnprocessableEntity, "outside_service_window");
        Assert.Equal("Outside service window", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Free_form_text_is_accepted_after_the_contact_writes_in()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();
        await sender.InboundFromAsync(to);

        var id = await Sender.AcceptedIdAsync(await sender.SendAsync(new { to, type = "text", text = "Thanks for writing!" }));

        await sender.MessageWhenAsync(id, Sender.StatusIs("read"), "read");
    }

    [Theory]
    [InlineData("new_offer")]
    [InlineData("no_such_template")]
    public async Task Template_that_is_not_approved_is_refused(string name)
    {
        var sender = await Sender.SandboxAsync(_host);

        var response = await sender.SendTemplateAsync(Sender.NewPhone(), name);

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.UnprocessableEntity, "template_not_approved");
        Assert.Equal("Template not approved", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Marketing_template_to_an_opted_out_contact_is_refused_but_a_utility_one_is_not()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();
        await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", new { phone_number = to, opted_in = false }), HttpStatusCode.Created);

        await Envelope.ErrorAsync(await sender.SendTemplateAsync(to, "spring_sale"), HttpStatusCode.UnprocessableEntity, "contact_opted_out");
        await Envelope.SuccessAsync(await sender.SendTemplateAsync(to, "hello_world"), HttpStatusCode.Accepted);
    }

    [Theory]
    [InlineData("12")]
    [InlineData("++919876543210")]
    [InlineData("+91 98765 43210 ext 5")]
    [InlineData("")]
    public async Task Send_to_an_invalid_phone_number_answers_400_invalid_phone_number_naming_to_as_contacts_do(string to)
    {
        var sender = await Sender.SandboxAsync(_host);

        var response = await sender.Api.PostAsync("messages/send", new { to, type = "template", template = new { name = "hello_world", language = "en_US" } });

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_phone_number");
        Assert.Equal("Invalid phone number", error.GetProperty("message").GetString());
        Assert.Equal(["Invalid phone number"], error.GetProperty("errors").GetProperty("to").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, (await Envelope.SuccessAsync(await sender.Api.GetAsync("messages"))).GetProperty("total").GetInt32());
        Assert.Equal(0, (await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts"))).GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("""{"to":"+14155550123","type":"text","text":{"body":"hi"}}""", "text")]
    [InlineData("""{"to":"+14155550123","type":"fax","text":"hi"}""", "type")]
    [InlineData("""{"to":"+14155550123","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}""", "template.language")]
    [InlineData("""{"to":"+14155550123","type":"image","image":{"url":"not a url"}}""", "image.url")]
    [InlineData("""{"to":"+14155550123","type":"text","text":"hi","image":{"url":"https://example.com/a.png"}}""", "image")]
    [InlineData("""{"type":"text","text":"hi"}""", "to")]
    public async Task Malformed_send_is_a_400_naming_the_field_and_stores_nothing(string body, string field)
    {
        var sender = await Sender.SandboxAsync(_host);

        var response = await sender.Api.PostJsonAsync("messages/send", body);

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, response.StatusCode == HttpStatusCode.BadRequest && (await response.Content.ReadAsStringAsync()).Contains("invalid_json", StringComparison.Ordinal) ? "invalid_json" : "validation_failed");
        if (error.TryGetProperty("errors", out var errors))
        {
            Assert.Contains(errors.EnumerateObject(), e => e.Name.StartsWith(field, StringComparison.Ordinal));
        }

        var list = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages"));
        Assert.Equal(0, list.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Same_idempotency_key_and_body_returns_the_first_answer_and_sends_nothing_new()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();

        var first = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(to, idempotencyKey: "order-1001"));
        var again = await sender.SendTemplateAsync(to, idempotencyKey: "order-1001");

        Assert.Equal(first, await Sender.AcceptedIdAsync(again));
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        var list = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages"));
        Assert.Equal(1, list.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Same_idempotency_key_with_another_body_is_a_409()
    {
        var sender = await Sender.SandboxAsync(_host);
        await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone(), idempotencyKey: "order-1002"));

        var response = await sender.SendTemplateAsync(Sender.NewPhone(), idempotencyKey: "order-1002");

        await Envelope.ErrorAsync(response, HttpStatusCode.Conflict, "idempotency_key_reused");
    }

    [Fact]
    public async Task Idempotency_records_are_purged_after_24_hours_and_not_before()
    {
        var sender = await Sender.SandboxAsync(_host);
        var purge = _host.Services.GetRequiredService<IdempotencyStore>();
        await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone(), idempotencyKey: "order-purge"));

        Assert.Equal(0, await purge.PurgeAsync(DateTimeOffset.UtcNow + TimeSpan.FromHours(23), default));
        await Envelope.ErrorAsync(await sender.SendTemplateAsync(Sender.NewPhone(), idempotencyKey: "order-purge"), HttpStatusCode.Conflict, "idempotency_key_reused");

        Assert.Equal(1, await purge.PurgeAsync(DateTimeOffset.UtcNow + TimeSpan.FromHours(25), default));
        await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone(), idempotencyKey: "order-purge"));
    }

    [Fact]
    public async Task Concurrent_duplicates_on_two_instances_make_one_message()
    {
        var sender = await Sender.SandboxAsync(_host);
        await using var second = await TestHost.StartAsync(prefix: _host.Prefix);
        var other = sender with { Host = second };
        var to = Sender.NewPhone();

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? sender : other).SendTemplateAsync(to, idempotencyKey: "dup-key")));

        var ids = await Task.WhenAll(responses.Select(Sender.AcceptedIdAsync));
        Assert.Single(ids.Distinct());
        var list = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages"));
        Assert.Equal(1, list.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Another_workspace_cannot_see_a_message()
    {
        var sender = await Sender.SandboxAsync(_host);
        var stranger = await Sender.SandboxAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        await Envelope.ErrorAsync(await stranger.Api.GetAsync("messages/" + id), HttpStatusCode.NotFound, "not_found");
        var list = await Envelope.SuccessAsync(await stranger.Api.GetAsync("messages"));
        Assert.Equal(0, list.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Messages_total_is_exact_under_concurrent_sends_and_status_totals_add_up()
    {
        var sender = await Sender.SandboxAsync(_host);

        var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ => await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()))));

        var all = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages?per_page=100"));
        Assert.Equal(20, all.GetProperty("total").GetInt32());
        // Newest first (ids sort that way) across the partitions the messages are spread over, pages fitting together.
        Assert.Equal(ids.Order(StringComparer.Ordinal), MessageIds(all));
        var page1 = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages?per_page=15&page=1"));
        var page2 = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages?per_page=15&page=2"));
        Assert.Equal(MessageIds(all), MessageIds(page1).Concat(MessageIds(page2)));
        Assert.Equal(20, page2.GetProperty("total").GetInt32());
        await Eventually.WaitAsync(async () =>
        {
            var sum = 0;
            foreach (var status in new[] { "queued", "sending", "sent", "delivered", "read", "failed" })
            {
                sum += (await Envelope.SuccessAsync(await sender.Api.GetAsync("messages?status=" + status))).GetProperty("total").GetInt32();
            }

            return sum;
        }, sum => sum == 20, what: "status totals add up to 20");
        await Eventually.WaitAsync(async () => (await Envelope.SuccessAsync(await sender.Api.GetAsync("messages?status=read"))).GetProperty("total").GetInt32(), n => n == 20, what: "all read");
    }

    [Fact]
    public async Task Messages_list_filters_by_contact_and_status()
    {
        var sender = await Sender.SandboxAsync(_host);
        var a = Sender.NewPhone();
        var first = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(a));
        await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        var contactId = (await sender.MessageAsync(first)).GetProperty("contact_id").GetString();
        await sender.MessageWhenAsync(first, Sender.StatusIs("read"), "read");

        var byContact = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages?contact_id=" + contactId));
        var byStatus = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages?status=read&contact_id=" + contactId));

        Assert.Equal(first, Assert.Single(byContact.GetProperty("messages").EnumerateArray()).GetProperty("message_id").GetString());
        Assert.Equal(1, byStatus.GetProperty("total").GetInt32());
        await Envelope.ErrorAsync(await sender.Api.GetAsync("messages?status=bogus"), HttpStatusCode.BadRequest, "validation_failed");
    }

    private static List<string> MessageIds(JsonElement page) =>
        [.. page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("message_id").GetString()!)];
}
