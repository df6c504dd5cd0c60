using System.Net;
using System.Text.Json;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>The dispatcher against a loopback Graph API that answers like Meta, failures included.</summary>
public sealed class CloudDispatchTests : IAsyncLifetime
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
    public async Task Adding_an_account_checks_the_token_with_meta_and_never_returns_it()
    {
        var owner = await Infrastructure.Identity.SignUpAsync(_host);

        var refused = await owner.SendAsync(HttpMethod.Post, "accounts", new { name = "Shop", phone_number_id = "123456789012", waba_id = "99", access_token = "EAAG-wrong-token-000" });
        var added = await owner.SendAsync(HttpMethod.Post, "accounts", new { name = "Shop", phone_number_id = "123456789013", waba_id = "99", access_token = FakeGraphApi.Token });

        await Envelope.ErrorAsync(refused, HttpStatusCode.UnprocessableEntity, "account_check_failed");
        var account = await Envelope.SuccessAsync(added, HttpStatusCode.Created);
        Assert.Equal("+919876543210", account.GetProperty("phone_number").GetString());
        Assert.DoesNotContain(FakeGraphApi.Token, await added.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(FakeGraphApi.Token, _host.Logs.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Templates_are_synced_from_meta_and_only_approved_ones_send()
    {
        var sender = await Sender.CloudAsync(_host);

        var templates = await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"));

        Assert.Equal(_graph.Templates.Count, templates.GetProperty("templates").GetArrayLength());
        await Envelope.ErrorAsync(await sender.SendTemplateAsync(Sender.NewPhone(), "draft"), HttpStatusCode.UnprocessableEntity, "template_not_approved");
        await Envelope.SuccessAsync(await sender.SendTemplateAsync(Sender.NewPhone(), "promo"), HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task The_template_sync_timer_picks_up_a_template_meta_approved_later()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["TemplateSyncSchedule"] = "*/1 * * * * *" });
        var sender = await Sender.CloudAsync(host);
        await Envelope.ErrorAsync(await sender.SendTemplateAsync(Sender.NewPhone(), "autumn_sale"), HttpStatusCode.UnprocessableEntity, "template_not_approved");

        _graph.Templates.Add(new { id = "1004", name = "autumn_sale", language = "en_US", category = "MARKETING", status = "APPROVED", components = Array.Empty<object>() });

        await Eventually.WaitAsync(() => sender.SendTemplateAsync(Sender.NewPhone(), "autumn_sale"), r => r.StatusCode == HttpStatusCode.Accepted, what: "template synced by the timer");
    }

    [Fact]
    public async Task A_send_reaches_the_graph_api_with_the_token_and_records_metas_wamid()
    {
        var sender = await Sender.CloudAsync(_host);
        var to = Sender.NewPhone();

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(to));

        var sent = await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        var call = Assert.Single(_graph.Sends, s => s.Body.GetProperty("biz_opaque_callback_data").GetString()!.EndsWith(id, StringComparison.Ordinal));
        Assert.Equal(call.Wamid, sent.GetProperty("wamid").GetString());
        Assert.Equal(to.TrimStart('+'), call.Body.GetProperty("to").GetString());
        Assert.Equal("hello_world", call.Body.GetProperty("template").GetProperty("name").GetString());
        Assert.Equal("en_US", call.Body.GetProperty("template").GetProperty("language").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_queue_message_delivered_again_does_not_send_again()
    {
        var sender = await Sender.CloudAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        var work = new SendWork(sender.Owner.WorkspaceId, id, 0).ToJson();
        var queue = await _host.Services.GetRequiredService<StorageAccount>().GetQueueAsync(MessagingNames.SendsQueue);

        // The queue hands the same message out again (and once more, concurrently, after it was sent).
        await Task.WhenAll(queue.SendMessageAsync(work), queue.SendMessageAsync(work));
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        await queue.SendMessageAsync(work);
        await Task.Delay(1500);

        Assert.Equal(1, _graph.DeliveredPerMessage[id]);
        Assert.Single(_graph.Sends, s => s.Body.GetProperty("biz_opaque_callback_data").GetString()!.EndsWith(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fifty_sends_through_a_graph_api_failing_every_third_call_all_end_sent_none_missing_none_twice()
    {
        _graph.OnSend = (n, _) => n % 3 == 0 ? (n % 2 == 0 ? FakeGraphApi.Reply.ServerError() : FakeGraphApi.Reply.TooManyRequests(1)) : FakeGraphApi.Reply.Ok();
        var sender = await Sender.CloudAsync(_host, throughputMps: 1000);

        var ids = new List<string>();
        foreach (var _ in Enumerable.Range(0, 50))
        {
            ids.Add(await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone())));
        }

        var final = new List<JsonElement>();
        foreach (var id in ids)
        {
            final.Add(await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "failed"), "sent or failed"));
        }

        Assert.All(final, m => Assert.Equal("sent", m.GetProperty("status").GetString()));
        Assert.Equal(50, _graph.DeliveredPerMessage.Count(d => ids.Contains(d.Key)));
        Assert.All(_graph.DeliveredPerMessage, d => Assert.Equal(1, d.Value));
        Assert.True(_graph.Sends.Count > 50, "the failures were retried");
    }

    [Fact]
    public async Task Two_instances_together_never_exceed_the_numbers_throughput_in_any_second()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 5);
        await using var second = await TestHost.StartAsync(_graph.Settings(), prefix: _host.Prefix);

        var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ => await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()))));

        foreach (var id in ids)
        {
            await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        }

        // Slots are paced (1 s + 40 ms) / 5 apart; arrival times also carry this busy test machine's scheduling
        // jitter, so a second is checked as 850 ms here, and the pace over the whole run as well.
        var times = _graph.Sends.Select(s => s.At).Order().ToList();
        var busiest = times.Max(t => times.Count(u => u >= t && u < t + TimeSpan.FromMilliseconds(850)));
        Assert.True(busiest <= 5, $"{busiest} sends within 850 ms: {string.Join(", ", times.Select(t => t.ToString("mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(times[^1] - times[0] >= TimeSpan.FromSeconds(19 * 0.208 * 0.9), $"20 sends in {(times[^1] - times[0]).TotalSeconds:F2} s");
        Assert.Equal(20, _graph.DeliveredPerMessage.Count);
    }

    [Fact]
    public async Task A_permanent_meta_error_fails_the_message_at_once_with_metas_code_and_title()
    {
        _graph.OnSend = (_, _) => FakeGraphApi.Reply.MetaError(400, 131026, "Message undeliverable");
        var sender = await Sender.CloudAsync(_host);

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed");
        Assert.Equal("131026", failed.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("Message undeliverable", failed.GetProperty("error").GetProperty("title").GetString());
        Assert.Single(_graph.Sends);
    }

    [Theory]
    [InlineData(131062, "Business-scoped User ID (BSUID) recipients are not supported for this message.")]
    [InlineData(131063, "Marketing templates disabled for Cloud API")]
    public async Task Errors_131062_and_131063_fail_the_message_at_once_after_one_call(int code, string title)
    {
        _graph.OnSend = (_, _) => FakeGraphApi.Reply.MetaError(400, code, title);
        var sender = await Sender.CloudAsync(_host);

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed");
        Assert.Equal(code.ToString(System.Globalization.CultureInfo.InvariantCulture), failed.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(title, failed.GetProperty("error").GetProperty("title").GetString());
        Assert.Single(_graph.Sends);
    }

    [Fact]
    public async Task Error_131050_fails_the_message_and_opts_the_contact_out()
    {
        _graph.OnSend = (_, _) => FakeGraphApi.Reply.MetaError(400, 131050, "User has stopped marketing messages");
        var sender = await Sender.CloudAsync(_host);
        var to = Sender.NewPhone();

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(to, "promo"));

        await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed");
        var contact = await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + (await sender.MessageAsync(id)).GetProperty("contact_id").GetString()));
        Assert.False(contact.GetProperty("opted_in").GetBoolean());
        await Envelope.ErrorAsync(await sender.SendTemplateAsync(to, "promo"), HttpStatusCode.UnprocessableEntity, "contact_opted_out");
    }

    [Fact]
    public async Task Error_190_disconnects_the_account_and_its_sends_wait_instead_of_failing()
    {
        _graph.OnSend = (_, _) => FakeGraphApi.Reply.MetaError(401, 190, "Error validating access token");
        var sender = await Sender.CloudAsync(_host);

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("accounts")),
            a => a.GetProperty("accounts")[0].GetProperty("status").GetString() == "disconnected", what: "account disconnected");
        await Task.Delay(1500);
        Assert.Equal("queued", (await sender.MessageAsync(id)).GetProperty("status").GetString());
        Assert.Single(_graph.Sends);
        var refused = await Envelope.ErrorAsync(await sender.SendTemplateAsync(Sender.NewPhone()), HttpStatusCode.UnprocessableEntity, "account_disconnected");
        Assert.Equal("Account disconnected", refused.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Pair_rate_limit_131056_delays_only_that_recipient()
    {
        // A pair delay longer than accepting a send takes, even on a starved machine: the other recipient's send is
        // accepted after the delayed one's first attempt, and must still go out before the delay ends.
        await _host.DisposeAsync();
        _host = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["WhatsApp:PairLimitDelay"] = "00:00:03" });
        var slow = Sender.NewPhone().TrimStart('+');
        var refused = 0;
        _graph.OnSend = (_, body) => body.GetProperty("to").GetString() == slow && Interlocked.Increment(ref refused) == 1
            ? FakeGraphApi.Reply.MetaError(400, 131056, "(Business Account, Consumer Account) pair rate limit hit")
            : FakeGraphApi.Reply.Ok();
        var sender = await Sender.CloudAsync(_host);

        var delayed = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync("+" + slow));
        var other = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        var otherSent = await sender.MessageWhenAsync(other, Sender.StatusIs("sent"), "other recipient sent");
        var delayedSent = await sender.MessageWhenAsync(delayed, Sender.StatusIs("sent"), "delayed recipient sent later");
        Assert.Equal(2, _graph.Sends.Count(s => s.Body.GetProperty("to").GetString() == slow));
        Assert.True(DateTimeOffset.Parse(delayedSent.GetProperty("sent_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            >= DateTimeOffset.Parse(otherSent.GetProperty("sent_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, _graph.DeliveredPerMessage[delayed]);
    }

    [Fact]
    public async Task Retry_after_from_meta_is_honoured_before_the_next_attempt()
    {
        _graph.OnSend = (n, _) => n == 1 ? FakeGraphApi.Reply.TooManyRequests(2) : FakeGraphApi.Reply.Ok();
        var sender = await Sender.CloudAsync(_host);

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        var calls = _graph.Sends.OrderBy(s => s.At).ToList();
        Assert.True(calls[^1].At - calls[0].At >= TimeSpan.FromSeconds(1.9), $"retried after {(calls[^1].At - calls[0].At).TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Timeouts_are_retried_and_a_message_that_never_gets_through_ends_failed()
    {
        _graph.OnSend = (_, _) => FakeGraphApi.Reply.Timeout();
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["WhatsApp:MaxAttempts"] = "2" });
        var sender = await Sender.CloudAsync(host);

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed");
        Assert.Equal("timeout", failed.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, _graph.Sends.Count);
        Assert.False(_graph.DeliveredPerMessage.ContainsKey(id));
        Assert.Contains(host.Logs.Entries, e => e.ToString().Contains(id, StringComparison.Ordinal) && e.ToString().Contains("timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_send_whose_instance_died_after_metas_answer_is_not_sent_again_and_metas_status_recovers_it()
    {
        var sender = await Sender.CloudAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        var storage = _host.Services.GetRequiredService<StorageAccount>();
        var table = await storage.GetTableAsync(MessagingNames.Messages);
        var row = (await table.GetEntityAsync<MessageEntity>(sender.Owner.WorkspaceId + "|" + id[^1], "m_" + id)).Value;
        var wamid = row.Wamid!;

        // As if the instance died after Meta accepted the message and before it wrote "sent".
        row.Status = MessageStatus.Sending;
        row.Wamid = null;
        row.ClaimedAt = DateTimeOffset.UtcNow - TimeSpan.FromMinutes(10);
        await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
        var queue = await storage.GetQueueAsync(MessagingNames.SendsQueue);
        await queue.SendMessageAsync(new SendWork(sender.Owner.WorkspaceId, id, row.Attempts - 1).ToJson());

        var unknown = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed as unknown");
        Assert.Equal("delivery_unknown", unknown.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, _graph.DeliveredPerMessage[id]);

        var status = MetaWebhook.Status(sender.PhoneNumberId, wamid, "delivered", callback: $"{sender.Owner.WorkspaceId} {id}");
        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, status));
        var delivered = await sender.MessageWhenAsync(id, Sender.StatusIs("delivered"), "delivered");
        Assert.Equal(wamid, delivered.GetProperty("wamid").GetString());
        Assert.Equal(JsonValueKind.Null, delivered.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task Removing_an_account_fails_its_queued_sends_with_account_disconnected()
    {
        _graph.OnSend = (_, _) => FakeGraphApi.Reply.MetaError(401, 190, "Error validating access token");
        var sender = await Sender.CloudAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("accounts")),
            a => a.GetProperty("accounts")[0].GetProperty("status").GetString() == "disconnected", what: "account disconnected");

        await Envelope.SuccessAsync(await sender.Owner.SendAsync(HttpMethod.Delete, "accounts/" + sender.AccountId));

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed");
        Assert.Equal("account_disconnected", failed.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_send_whose_pacing_row_cannot_be_reached_is_put_back_and_after_the_last_retry_failed_without_reaching_meta()
    {
        // The poison handler is off so the copy stays on the poison queue for the test to see.
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings())
        {
            ["WhatsApp:MaxAttempts"] = "3",
            ["AzureWebJobs.FailPoisonedSend.Disabled"] = "true",
        });
        var sender = await Sender.CloudAsync(host);
        var first = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        await sender.MessageWhenAsync(first, Sender.StatusIs("sent"), "first sent");

        // The table of per-number schedules disappears: the gate cannot take a slot, Meta must not be called.
        var storage = host.Services.GetRequiredService<StorageAccount>();
        await storage.TableService.DeleteTableAsync(storage.PhysicalName(MessagingNames.Throughput));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed after its retries");
        Assert.Equal("dispatch_failed", failed.GetProperty("error").GetProperty("code").GetString());
        Assert.False(_graph.DeliveredPerMessage.ContainsKey(id));
        var givenBack = host.Logs.AllText().Split('\n').Count(l => l.Contains(id, StringComparison.Ordinal) && l.Contains("pacing could not be taken", StringComparison.Ordinal));
        Assert.Equal(3, givenBack);
        var poison = await storage.GetQueueAsync(SendEnqueuer.PoisonQueue);
        await Eventually.WaitAsync(async () => (await poison.PeekMessagesAsync(32)).Value, m => m.Any(x => x.Body.ToString().Contains(id, StringComparison.Ordinal)), what: "a copy on the poison queue");
    }

    [Fact]
    public async Task Sends_waiting_for_their_numbers_slot_when_the_host_stops_go_back_to_queued_and_are_sent_by_the_next_one()
    {
        // One instance only answers the API; the dispatching instances come and go on the same storage.
        await using var front = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["AzureWebJobs.DispatchSend.Disabled"] = "true" });
        var sender = await Sender.CloudAsync(front, throughputMps: 1);
        var worker = await TestHost.StartAsync(_graph.Settings(), prefix: front.Prefix);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone())));
        }

        // At 1 message a second the others wait in the gate, already claimed, when the host stops.
        await Eventually.WaitAsync(() => Task.FromResult(_graph.DeliveredPerMessage.Count(d => ids.Contains(d.Key))), n => n >= 1, what: "the first one sent");
        await worker.DisposeAsync();
        var statuses = await Task.WhenAll(ids.Select(async id => (await sender.MessageAsync(id)).GetProperty("status").GetString()));
        Assert.DoesNotContain("sending", statuses);

        await using var next = await TestHost.StartAsync(_graph.Settings(), prefix: front.Prefix);
        foreach (var id in ids)
        {
            await Eventually.WaitAsync(() => sender.MessageAsync(id), Sender.StatusIs("sent", "failed"), TimeSpan.FromSeconds(30), "sent by the next instance");
        }

        Assert.All(ids, id => Assert.Equal(1, _graph.DeliveredPerMessage[id]));
        Assert.All(await Task.WhenAll(ids.Select(sender.MessageAsync)), m => Assert.Equal("sent", m.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_send_put_back_whose_new_queue_message_was_never_written_is_carried_on_by_the_old_one()
    {
        await using var front = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["AzureWebJobs.DispatchSend.Disabled"] = "true" });
        var sender = await Sender.CloudAsync(front);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        // As if attempt 0 had been claimed and put back as attempt 1, and storage failed before attempt 1's
        // queue message was written: only attempt 0's queue message is left.
        var (result, _) = await front.Services.GetRequiredService<MessageStore>().ChangeAsync(sender.Owner.WorkspaceId, id, m =>
        {
            m.Attempts = 1;
            m.Failures = 1;
            return true;
        }, null, null, default);
        Assert.Equal(MessageStore.Result.Changed, result);

        await using var worker = await TestHost.StartAsync(_graph.Settings(), prefix: front.Prefix);
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent at attempt 1");
        Assert.Equal(1, _graph.DeliveredPerMessage[id]);
    }
}
