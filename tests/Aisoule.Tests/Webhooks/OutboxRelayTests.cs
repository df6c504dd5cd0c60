using Aisoule.Core.Storage;
using Aisoule.Core.Webhooks;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Aisoule.Tests.Webhooks.WebhookHelpers;

namespace Aisoule.Tests.Webhooks;

/// <summary>The relay driven by hand: its triggers are off, so each queue it writes can be read as it left it.</summary>
public sealed class OutboxRelayTests : WebhookTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["AzureWebJobs.RelayOutbox.Disabled"] = "true",
        ["AzureWebJobs.DeliverWebhook.Disabled"] = "true",
        ["AzureWebJobs.SweepOutbox.Disabled"] = "true",
    };

    [Fact]
    public async Task Nudges_that_pile_up_for_a_partition_fold_into_the_run_under_way_and_it_nudges_once_when_it_ends()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        await SubscribeAsync(api, Receiver.Url(), "contact.created");
        var workspaceId = (await Envelope.SuccessAsync(await api.GetAsync("auth/me"))).GetProperty("workspace").GetProperty("id").GetString()!;
        var storage = Host.Services.GetRequiredService<StorageAccount>();
        var contacts = await storage.GetTableAsync("contacts");
        var now = DateTimeOffset.UtcNow;
        foreach (var chunk in Enumerable.Range(0, 150).Chunk(50))
        {
            List<TableTransactionAction> rows = [];
            foreach (var i in chunk)
            {
                OutboxEvent.CreateWithJson(workspaceId, OutboxEvent.Prefix + "e" + i.ToString("d3", System.Globalization.CultureInfo.InvariantCulture), WebhookEvents.ContactCreated, WebhookEvents.SampleData(WebhookEvents.ContactCreated, now), now.AddTicks(i)).AddTo(rows);
            }

            await contacts.SubmitTransactionAsync(rows);
        }

        // Eight nudges for the partition at once: one run takes the oldest 100, the other seven fold into it.
        var relay = Host.Services.GetRequiredService<OutboxRelay>();
        var nudge = new OutboxNudge("contacts", workspaceId, workspaceId);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => relay.RelayAsync(nudge))));

        var outbox = await storage.GetQueueAsync(OutboxRelay.Queue);
        var work = await storage.GetQueueAsync(WebhookDeliverer.Queue);
        var nudges = (await outbox.PeekMessagesAsync(32)).Value;
        var queued = (await work.PeekMessagesAsync(32)).Value.Select(m => WebhookWork.Parse(m.Body.ToString())!).ToList();
        Assert.Single(nudges);
        Assert.Equal(100, Assert.Single(queued).Items.Count);
        Assert.Equal(50, contacts.Query<TableEntity>(OutboxEvent.PendingFilter(workspaceId)).Count());

        // The nudge it left takes the rest, and then none is left.
        Assert.Equal(nudge, OutboxNudge.Parse((await outbox.ReceiveMessageAsync()).Value.Body.ToString()));
        await outbox.ClearMessagesAsync();
        await relay.RelayAsync(nudge);
        Assert.Empty((await outbox.PeekMessagesAsync(32)).Value);
        Assert.Equal([100, 50], (await work.PeekMessagesAsync(32)).Value.Select(m => WebhookWork.Parse(m.Body.ToString())!.Items.Count));
        Assert.Empty(contacts.Query<TableEntity>(OutboxEvent.PendingFilter(workspaceId)));
    }
}
