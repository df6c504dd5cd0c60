using System.Net;
using System.Text.Json;
using Aisoule.Core.Storage;
using Aisoule.Core.Webhooks;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Aisoule.Tests.Webhooks.WebhookHelpers;

namespace Aisoule.Tests.Webhooks;

/// <summary>Events from the outbox to loopback receivers: signed, retried, throttled by the receiver's answers, replayable.</summary>
public sealed class WebhookDeliveryTests : WebhookTestBase
{

    [Fact]
    public async Task Contact_created_is_delivered_with_both_signatures_checked_by_code_we_did_not_write()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var (_, secret) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        var contactId = await ContactAsync(api);

        var request = (await Receiver.WaitAsync(r => r.Count >= 1, what: "contact.created"))[0];
        var body = Json(request);
        Assert.Equal("contact.created", body.GetProperty("event").GetString());
        Assert.Equal(contactId, body.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal(request.Header("webhook-id"), body.GetProperty("id").GetString());
        Assert.True(DateTimeOffset.TryParse(body.GetProperty("timestamp").GetString(), out _));
        Assert.InRange(request.Body.Length, 1, 20 * 1024);
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
        Assert.InRange(long.Parse(request.Header("webhook-timestamp"), System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
        VerifyStandard(secret, request);
        Assert.Equal(await NodeHexAsync(secret, request.Body), request.Header("X-Webhook-Signature"));
    }

    [Fact]
    public async Task Only_subscribed_events_from_after_the_subscription_are_delivered_each_once()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var before = await ContactAsync(api);
        await Task.Delay(50);
        await SubscribeAsync(api, Receiver.Url("updates"), "contact.updated");
        var after = await ContactAsync(api);
        for (var i = 0; i < 5; i++)
        {
            await Envelope.SuccessAsync(await api.PutAsync("contacts/" + after, new { name = "Name " + i }));
        }

        await Envelope.SuccessAsync(await api.PutAsync("contacts/" + before, new { name = "Old, changed" }));
        var got = await Receiver.WaitAsync(r => r.Count >= 6, what: "six contact.updated");
        await Task.Delay(1500);
        got = [.. Receiver.Requests];

        Assert.Equal(6, got.Count);
        Assert.All(got, r => Assert.Equal("contact.updated", Json(r).GetProperty("event").GetString()));
        Assert.Equal(6, got.Select(r => r.Header("webhook-id")).Distinct().Count());

        // A receiver can put them in order by the event's timestamp: it follows the order the changes were made.
        var names = got.Select(Json).Where(b => b.GetProperty("data").GetProperty("id").GetString() == after)
            .OrderBy(b => b.GetProperty("timestamp").GetString(), StringComparer.Ordinal).Select(b => b.GetProperty("data").GetProperty("name").GetString());
        Assert.Equal(Enumerable.Range(0, 5).Select(i => "Name " + i), names);
    }

    [Fact]
    public async Task A_send_and_a_campaign_deliver_their_message_and_campaign_events_with_contact_id()
    {
        var sender = await Messaging.Sender.SandboxAsync(Host);
        var api = new KeyClient(Host.Client, sender.Key);
        var (_, secret) = await SubscribeAsync(api, Receiver.Url(), "message.sent", "message.delivered", "message.read", "campaign.started", "campaign.completed");
        var contactId = await ContactAsync(api, new { phone_number = Messaging.Sender.NewPhone(), name = "Ana", tags = new[] { "wh" } });
        var sent = await Envelope.SuccessAsync(await sender.SendAsync(new { contact_id = contactId, type = "template", template = new { name = "hello_world", language = "en_US" } }), HttpStatusCode.Accepted);
        var messageId = sent.GetProperty("message_id").GetString();

        var got = await Receiver.WaitAsync(r => r.Count >= 3, what: "sent, delivered and read");
        var events = got.Select(Json).Where(b => b.GetProperty("data").GetProperty("message_id").GetString() == messageId).ToList();
        Assert.Equal(new[] { "message.delivered", "message.read", "message.sent" }, events.Select(e => e.GetProperty("event").GetString()).Order(StringComparer.Ordinal));
        Assert.All(events, e => Assert.Equal(contactId, e.GetProperty("data").GetProperty("contact_id").GetString()));
        Assert.All(got, r => VerifyStandard(secret, r));

        var campaign = await Envelope.SuccessAsync(await api.PostAsync("campaigns", new { name = "WH", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "wh" } } }), HttpStatusCode.Created);
        var id = campaign.GetProperty("id").GetString();
        var all = await Receiver.WaitAsync(r => r.Select(Json).Any(b => b.GetProperty("event").GetString() == "campaign.completed"), seconds: 30, what: "campaign.completed");
        var started = all.Select(Json).Single(b => b.GetProperty("event").GetString() == "campaign.started");
        var completed = all.Select(Json).Single(b => b.GetProperty("event").GetString() == "campaign.completed");
        Assert.Equal(id, started.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal(1, completed.GetProperty("data").GetProperty("stats").GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task A_failed_delivery_is_retried_with_the_same_webhook_id_and_each_attempt_is_listed()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        Receiver.OnRequest = (n, _) => n <= 2 ? WebhookReceiver.Answer.With(500, "boom " + n) : WebhookReceiver.Answer.Ok();
        var (id, secret) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        await ContactAsync(api);

        var got = await Receiver.WaitAsync(r => r.Count >= 3, seconds: 30, what: "three attempts");
        Assert.Single(got.Select(r => r.Header("webhook-id")).Distinct());
        Assert.All(got, r => VerifyStandard(secret, r));
        var attempts = await WaitForAttemptsAsync(api, id, a => a.GetArrayLength() >= 3 && a[0].GetProperty("succeeded").GetBoolean());
        Assert.Equal([3, 2, 1], attempts.EnumerateArray().Select(a => a.GetProperty("attempt").GetInt32()));
        Assert.Equal([200, 500, 500], attempts.EnumerateArray().Select(a => a.GetProperty("status_code").GetInt32()));
        Assert.Equal("boom 1", attempts[2].GetProperty("response_body").GetString());
        Assert.Equal("retrying", attempts[2].GetProperty("outcome").GetString());
        Assert.Equal("delivered", attempts[0].GetProperty("outcome").GetString());
        Assert.Equal(got[0].Header("webhook-id"), attempts[0].GetProperty("webhook_id").GetString());
        var hook = await Envelope.SuccessAsync(await api.GetAsync("webhooks/" + id));
        Assert.Equal("healthy", hook.GetProperty("health").GetString());
    }

    [Fact]
    public async Task Retry_after_on_429_is_honoured_before_the_next_attempt()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        Receiver.OnRequest = (n, _) => n == 1 ? WebhookReceiver.Answer.RetryAfter(429, 3) : WebhookReceiver.Answer.Ok();
        await SubscribeAsync(api, Receiver.Url(), "contact.created");
        await ContactAsync(api);

        var got = await Receiver.WaitAsync(r => r.Count >= 2, seconds: 30, what: "the retry");
        Assert.True(got[1].At - got[0].At >= TimeSpan.FromSeconds(2.9), $"retried after {(got[1].At - got[0].At).TotalSeconds:0.00} s; Retry-After said 3 (the schedule's first wait here is 1 s)");
    }

    [Fact]
    public async Task Redirect_hang_and_closed_connection_are_failures_and_redirects_are_not_followed()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        Receiver.OnRequest = (_, path) => path switch
        {
            "redirect" => WebhookReceiver.Answer.Redirect(Receiver.Url("target")),
            "hang" => WebhookReceiver.Answer.Hanging(),
            "close" => WebhookReceiver.Answer.Closed(),
            _ => WebhookReceiver.Answer.Ok(),
        };

        async Task<JsonElement> TestAsync(string path)
        {
            var (id, _) = await SubscribeAsync(api, Receiver.Url(path), "contact.created");
            return await Envelope.SuccessAsync(await api.PostEmptyAsync($"webhooks/{id}/test"));
        }

        var redirect = await TestAsync("redirect");
        var hang = await TestAsync("hang");
        var close = await TestAsync("close");

        Assert.False(redirect.GetProperty("succeeded").GetBoolean());
        Assert.Equal(302, redirect.GetProperty("status_code").GetInt32());
        Assert.Contains("redirect", redirect.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Receiver.Requests, r => r.Path == "target");

        Assert.False(hang.GetProperty("succeeded").GetBoolean());
        Assert.Equal(JsonValueKind.Null, hang.GetProperty("status_code").ValueKind);
        Assert.Contains("within 2 s", hang.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.InRange(hang.GetProperty("duration_ms").GetInt32(), 1900, 6000);

        Assert.False(close.GetProperty("succeeded").GetBoolean());
        Assert.Equal(JsonValueKind.Null, close.GetProperty("status_code").ValueKind);
        Assert.False(string.IsNullOrEmpty(close.GetProperty("error").GetString()));
        Assert.Equal("failed", close.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Gone_unsubscribes_at_once()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        Receiver.OnRequest = (_, _) => WebhookReceiver.Answer.With(410, "this Zap is off");
        var (id, _) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        await ContactAsync(api);
        await Receiver.WaitAsync(r => r.Count >= 1);
        await WaitUntilAsync(async () => (await api.GetAsync("webhooks/" + id)).StatusCode == HttpStatusCode.NotFound, "the webhook removed after 410");

        await ContactAsync(api);
        await Task.Delay(1500);
        Assert.Single(Receiver.Requests);
    }

    [Fact]
    public async Task Three_failed_events_make_a_webhook_failing_and_a_success_makes_it_healthy_again()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var failing = true;
        Receiver.OnRequest = (_, _) => failing ? WebhookReceiver.Answer.With(503) : WebhookReceiver.Answer.Ok();
        var (id, _) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        async Task<JsonElement> HookAsync() => await Envelope.SuccessAsync(await api.GetAsync("webhooks/" + id));

        await ContactAsync(api);
        await ContactAsync(api);
        await WaitForAttemptsAsync(api, id, a => a.GetArrayLength() >= 2);
        var early = await HookAsync();
        Assert.Equal("healthy", early.GetProperty("health").GetString());
        Assert.InRange(early.GetProperty("consecutive_failures").GetInt32(), 1, 2);

        await ContactAsync(api);

        // Each event is tried 4 times here (3 retries): 12 failed attempts, 3 failed events.
        await WaitForAttemptsAsync(api, id, a => a.EnumerateArray().Count(x => x.GetProperty("outcome").GetString() == "exhausted") == 3, seconds: 40);
        var down = await HookAsync();
        Assert.Equal("failing", down.GetProperty("health").GetString());
        Assert.Equal(3, down.GetProperty("consecutive_failures").GetInt32());
        Assert.Equal("Answered 503.", down.GetProperty("last_error").GetString());

        failing = false;
        Assert.True((await Envelope.SuccessAsync(await api.PostEmptyAsync($"webhooks/{id}/test"))).GetProperty("succeeded").GetBoolean());
        var up = await HookAsync();
        Assert.Equal("healthy", up.GetProperty("health").GetString());
        Assert.Equal(0, up.GetProperty("consecutive_failures").GetInt32());
    }

    [Fact]
    public async Task While_an_endpoint_fails_the_rest_of_a_batch_waits_for_it_instead_of_each_failing_now()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Webhooks:RetrySchedule:0"] = "00:00:03" });
        var api = await KeyClient.ForNewWorkspaceAsync(host);
        var down = true;
        Receiver.OnRequest = (_, _) => down ? WebhookReceiver.Answer.With(500) : WebhookReceiver.Answer.Ok();
        await SubscribeAsync(api, Receiver.Url(), "contact.created");

        // Twenty contacts in one go: their events are relayed together (one queue message for the webhook).
        var ids = (await Envelope.SuccessAsync(await api.PostAsync("contacts/bulk", new { contacts = Enumerable.Range(0, 20).Select(i => new { phone_number = Messaging.Sender.NewPhone(), name = "Bulk " + i }) })))
            .GetProperty("created").GetInt32();
        Assert.Equal(20, ids);
        await Receiver.WaitAsync(r => r.Count >= 1);
        await Task.Delay(1500);

        // The bulk's transactions are relayed in a run or a few; one attempt per run reached the failing endpoint, and
        // the rest wait with it instead of failing one by one.
        var whileDown = Receiver.Requests.Count;
        Assert.InRange(whileDown, 1, 4);
        down = false;
        var got = await Receiver.WaitAsync(r => r.Select(x => x.Header("webhook-id")).Distinct().Count() >= 20, seconds: 20, what: "all twenty after the endpoint came back");
        Assert.Equal(20, got.Skip(whileDown).Select(r => r.Header("webhook-id")).Distinct().Count() + got.Take(whileDown).Select(r => r.Header("webhook-id")).Except(got.Skip(whileDown).Select(r => r.Header("webhook-id"))).Count());
    }

    [Fact]
    public async Task An_exhausted_delivery_is_replayed_and_recover_replays_every_failed_one_since()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var up = false;
        Receiver.OnRequest = (_, _) => up ? WebhookReceiver.Answer.Ok() : WebhookReceiver.Answer.With(500);
        var (id, _) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        await ContactAsync(api);
        await ContactAsync(api);
        await ContactAsync(api);

        // 1 attempt + 3 retries each, then exhausted.
        var attempts = await WaitForAttemptsAsync(api, id, a => a.EnumerateArray().Count(x => x.GetProperty("outcome").GetString() == "exhausted") == 3, seconds: 40);
        var exhausted = attempts.EnumerateArray().Where(x => x.GetProperty("outcome").GetString() == "exhausted").Select(x => x.GetProperty("delivery_id").GetString()!).ToList();
        Assert.Equal(12, attempts.GetArrayLength());

        up = true;
        var replay = await Envelope.SuccessAsync(await api.PostEmptyAsync($"webhooks/{id}/deliveries/{exhausted[0]}/replay"));
        Assert.True(replay.GetProperty("succeeded").GetBoolean());
        Assert.Equal("replay", replay.GetProperty("trigger").GetString());

        var recovered = await Envelope.SuccessAsync(await api.PostAsync($"webhooks/{id}/recover", new { since = since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) }), HttpStatusCode.Accepted);
        Assert.Equal(2, recovered.GetProperty("replayed").GetInt32());
        await WaitForAttemptsAsync(api, id, a => a.EnumerateArray().Count(x => x.GetProperty("succeeded").GetBoolean()) == 3);
        var ids = Receiver.Requests.Select(r => r.Header("webhook-id")).Distinct().Count();
        Assert.Equal(3, ids);

        await Envelope.ErrorAsync(await api.PostEmptyAsync($"webhooks/{id}/deliveries/dlv_0000000000000000ffffffffffffffff/replay"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await api.PostAsync($"webhooks/{id}/recover", new { since = "2001-01-01T00:00:00Z" }), HttpStatusCode.BadRequest, "validation_failed");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> done, string what, double seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Never: " + what);
            }

            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_webhooks_deliveries_sit_in_many_partitions_and_are_listed_newest_first_across_them_page_by_page()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var (id, _) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        var workspaceId = await WorkspaceIdAsync(api);
        var events = await WriteEventsAsync(workspaceId, 40, i => WebhookEvents.SampleData(WebhookEvents.ContactCreated, DateTimeOffset.UtcNow));
        await Receiver.WaitAsync(r => r.Count >= 40, what: "40 deliveries");

        // 40 events' deliveries spread over the webhook's partitions (by a hash of the event: all in one would be 1 in 16^39).
        var deliveries = await Host.Services.GetRequiredService<StorageAccount>().GetTableAsync(WebhookDeliverer.Table);
        var partitions = deliveries.Query<TableEntity>(WebhookDeliveryEntity.AllPartitionsFilter(workspaceId, id), select: ["PartitionKey"]).Select(r => r.PartitionKey).Distinct().ToList();
        Assert.InRange(partitions.Count, 2, WebhookDeliveryEntity.Shards);

        // Seven to a page: every attempt once, newest first across the partitions, and the last page says there is no more.
        var listed = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await Envelope.SuccessAsync(await api.GetAsync($"webhooks/{id}/deliveries?per_page=7" + (cursor is null ? "" : "&cursor=" + cursor)));
            listed.AddRange(page.GetProperty("deliveries").EnumerateArray());
            cursor = page.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null && listed.Count < 100);

        Assert.Equal(40, listed.Count);
        Assert.Equal(40, listed.Select(a => a.GetProperty("delivery_id").GetString()).Distinct().Count());
        var times = listed.Select(a => a.GetProperty("attempted_at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.OrderDescending(), times);
        Assert.Equal(events.Order(StringComparer.Ordinal), listed.Select(a => a.GetProperty("webhook_id").GetString()!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_event_rides_in_its_pending_row_and_one_too_large_to_ride_is_read_from_its_event_row()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        await SubscribeAsync(api, Receiver.Url(), "contact.created");
        var workspaceId = await WorkspaceIdAsync(api);
        var contacts = await Host.Services.GetRequiredService<StorageAccount>().GetTableAsync("contacts");

        // A small event whose event row is gone before the relay comes (only its pending row is read), and a large one.
        var now = DateTimeOffset.UtcNow;
        var small = OutboxEvent.CreateWithJson(workspaceId, OutboxEvent.Prefix + "rides", WebhookEvents.ContactCreated, WebhookEvents.SampleData(WebhookEvents.ContactCreated, now), now);
        var note = new string('n', OutboxEvent.MaxPendingDataChars);
        var large = OutboxEvent.CreateWithJson(workspaceId, OutboxEvent.Prefix + "large", WebhookEvents.ContactCreated, JsonSerializer.Serialize(new { id = "ct_large", notes = note }), now.AddTicks(1));
        List<TableTransactionAction> rows = [];
        small.AddTo(rows);
        large.AddTo(rows);
        await contacts.SubmitTransactionAsync(rows);
        await contacts.DeleteEntityAsync(workspaceId, small.RowKey);
        await Host.Services.GetRequiredService<OutboxRelay>().RelayAsync(new OutboxNudge("contacts", workspaceId, workspaceId));

        var got = await Receiver.WaitAsync(r => r.Count >= 2, what: "both events");
        var data = got.Select(Json).Select(b => b.GetProperty("data")).ToList();
        Assert.Contains(data, d => d.GetProperty("id").GetString() == JsonDocument.Parse(small.Data).RootElement.GetProperty("id").GetString());
        Assert.Contains(data, d => d.GetProperty("id").GetString() == "ct_large" && d.GetProperty("notes").GetString() == note);
        Assert.Empty(contacts.Query<TableEntity>(OutboxEvent.PendingFilter(workspaceId)));
    }

    private static async Task<string> WorkspaceIdAsync(KeyClient api) =>
        (await Envelope.SuccessAsync(await api.GetAsync("auth/me"))).GetProperty("workspace").GetProperty("id").GetString()!;

    /// <summary>Writes <paramref name="count"/> contact.created events as contact writes do (20 a transaction, each nudged); answers their ids.</summary>
    private async Task<List<string>> WriteEventsAsync(string workspaceId, int count, Func<int, string> data)
    {
        var contacts = await Host.Services.GetRequiredService<StorageAccount>().GetTableAsync("contacts");
        var relay = Host.Services.GetRequiredService<OutboxRelay>();
        var ids = new List<string>();
        foreach (var chunk in Enumerable.Range(0, count).Chunk(20))
        {
            List<TableTransactionAction> rows = [];
            foreach (var i in chunk)
            {
                var now = DateTimeOffset.UtcNow;
                var e = OutboxEvent.CreateWithJson(workspaceId, OutboxEvent.Prefix + now.UtcTicks.ToString("d19", System.Globalization.CultureInfo.InvariantCulture) + "_" + i, WebhookEvents.ContactCreated, data(i), now);
                e.AddTo(rows);
                ids.Add(WebhookEvents.Body("contacts", e).Id);
            }

            await contacts.SubmitTransactionAsync(rows);
            await relay.NotifyAsync("contacts", workspaceId, workspaceId);
        }

        return ids;
    }
}
