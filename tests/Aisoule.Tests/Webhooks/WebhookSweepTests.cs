using System.Net;
using System.Text;
using System.Text.Json;
using Aisoule.Core.Storage;
using Aisoule.Core.Webhooks;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;
using static Aisoule.Tests.Webhooks.WebhookHelpers;

namespace Aisoule.Tests.Webhooks;

/// <summary>The sweep's three jobs, the payload bound, and the isolation and pacing of endpoints.</summary>
public sealed class WebhookSweepTests : WebhookTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Webhooks:HostRates:127.0.0.1"] = "5",
        ["Webhooks:StrandedAfter"] = "00:00:01",
    };

    [Fact]
    public async Task An_event_whose_nudge_was_lost_is_delivered_by_the_sweep_and_everything_past_retention_is_deleted()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var (id, _) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        var workspaceId = (await Envelope.SuccessAsync(await api.GetAsync("auth/me"))).GetProperty("workspace").GetProperty("id").GetString()!;
        var storage = Host.Services.GetRequiredService<StorageAccount>();
        var contacts = await storage.GetTableAsync("contacts");

        // An event written as a contact write writes it, whose nudge never went (the process died just after).
        var at = DateTimeOffset.UtcNow;
        var data = WebhookEvents.SampleData(WebhookEvents.ContactCreated, at);
        var lost = OutboxEvent.CreateWithJson(workspaceId, OutboxEvent.Prefix + at.UtcTicks.ToString("d19", System.Globalization.CultureInfo.InvariantCulture) + "_lost", WebhookEvents.ContactCreated, data, at);
        List<TableTransactionAction> rows = [];
        lost.AddTo(rows);
        await contacts.SubmitTransactionAsync(rows);
        var relay = Host.Services.GetRequiredService<OutboxRelay>();
        await Task.Delay(1500);
        Assert.Empty(Receiver.Requests);
        await relay.SweepAsync();
        var got = await Receiver.WaitAsync(r => r.Count >= 1, what: "the swept event");
        Assert.Equal("contact.created", Json(got[0]).GetProperty("event").GetString());
        await WaitForAttemptsAsync(api, id, a => a.GetArrayLength() == 1 && a[0].GetProperty("succeeded").GetBoolean());

        var deliveries = await storage.GetTableAsync(WebhookDeliverer.Table);
        Assert.Equal(2, deliveries.Query<TableEntity>(WebhookDeliveryEntity.AllPartitionsFilter(workspaceId, id)).Count());

        // 31 days on, the sweep deletes the relayed event, the delivery and its attempt; not an event from after that.
        List<TableTransactionAction> pending = [];
        OutboxEvent.CreateWithJson(workspaceId, OutboxEvent.Prefix + "pending", WebhookEvents.ContactCreated, data, DateTimeOffset.UtcNow.AddDays(40)).AddTo(pending);
        await contacts.SubmitTransactionAsync(pending);
        var later = new ManualClock(DateTimeOffset.UtcNow.AddDays(31));
        var o = Host.Services.GetRequiredService<IOptionsMonitor<WebhookOptions>>();
        var future = new OutboxRelay(storage, Host.Services.GetRequiredService<WebhookService>(), Host.Services.GetRequiredService<WebhookDeliverer>(), o, later, NullLogger<OutboxRelay>.Instance);
        await future.SweepAsync();
        var outbox = new List<string>();
        await foreach (var row in contacts.QueryAsync<TableEntity>(OutboxEvent.Filter(workspaceId)))
        {
            outbox.Add(row.RowKey);
        }

        Assert.Equal([OutboxEvent.Prefix + "pending"], outbox);
        var waiting = new List<string>();
        await foreach (var row in contacts.QueryAsync<TableEntity>(OutboxEvent.PendingFilter(workspaceId)))
        {
            waiting.Add(OutboxEvent.EventKeyOf(row)!);
        }

        Assert.Equal([OutboxEvent.Prefix + "pending"], waiting);
        Assert.Equal(0, (await AttemptsAsync(api, id)).GetArrayLength());
        Assert.Empty(deliveries.Query<TableEntity>(WebhookDeliveryEntity.AllPartitionsFilter(workspaceId, id)));
    }

    [Fact]
    public async Task A_hanging_endpoint_does_not_delay_another_and_one_host_gets_at_most_its_rate()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        Receiver.OnRequest = (_, path) => path == "dead" ? WebhookReceiver.Answer.Hanging() : WebhookReceiver.Answer.Ok();
        await SubscribeAsync(api, Receiver.Url("dead"), "contact.created");

        // The live endpoint is reached by another name of this machine, so the 5 a second of 127.0.0.1 does not bind it.
        await using var live = await WebhookReceiver.StartAsync();
        var liveUrl = live.Url().Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        await SubscribeAsync(api, liveUrl, "contact.created");
        for (var i = 0; i < 12; i++)
        {
            await ContactAsync(api);
        }

        // Twelve events to the live endpoint while the dead one holds its attempts for 2 s each.
        await live.WaitAsync(r => r.Count >= 12, seconds: 15, what: "the live endpoint's 12 deliveries");

        // The dead one's attempts (to 127.0.0.1, 5 a second at most) never crowd a second.
        await Receiver.WaitAsync(r => r.Count >= 8, seconds: 30, what: "attempts at the hanging endpoint");
        var times = Receiver.Requests.Select(r => r.At).Order().ToList();
        var busiest = times.Select((t, i) => times.Skip(i).TakeWhile(u => u - t < TimeSpan.FromSeconds(1)).Count()).Max();
        Assert.True(busiest <= 5, $"{busiest} attempts at 127.0.0.1 within one second; its rate is 5");
    }

    [Fact]
    public void A_body_over_20_KB_goes_thin_with_the_resource_id_and_a_flag()
    {
        var big = JsonSerializer.Serialize(new { id = "ct_0123", custom_fields = new { notes = new string('x', 30_000) } });
        var e = OutboxEvent.CreateWithJson("ws", OutboxEvent.Prefix + "big", WebhookEvents.ContactUpdated, big, DateTimeOffset.UtcNow);
        var (id, body) = WebhookEvents.Body("contacts", e);
        Assert.InRange(body.Length, 1, WebhookEvents.MaxBodyBytes);
        var parsed = JsonDocument.Parse(body).RootElement;
        Assert.Equal(id, parsed.GetProperty("id").GetString());
        Assert.Equal("ct_0123", parsed.GetProperty("data").GetProperty("id").GetString());
        Assert.True(parsed.GetProperty("data").GetProperty("data_truncated").GetBoolean());
        Assert.Equal(id, WebhookEvents.Body("contacts", e).Id);
        Assert.NotEqual(id, WebhookEvents.Body("messages", e).Id);
        Assert.True(Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(new { x = 1 })) > 0);
    }
}
