using System.Net;
using Aisoule.Core.Accounts;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// The queue service down while tables stay up (Azurite's table and queue services as separate processes): an
/// accepted send is one whose row is stored, and the sweeper gets it out once the queue is back.
/// </summary>
public sealed class QueueOutageTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private SplitAzurite _azurite = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _azurite = SplitAzurite.Start();
        _host = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings())
        {
            // Every second a sweep; a send is the sweeper's one second after it was accepted.
            ["WhatsApp:SweepAfter"] = "00:00:01",
            [MessagingNames.SendSweepScheduleSetting] = "* * * * * *",
        }, connectionString: _azurite.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        _azurite.StartQueue();
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
        _azurite.Dispose();
    }

    [Fact]
    public async Task Sends_accepted_while_the_queue_is_down_are_202_and_all_go_out_once_when_it_returns()
    {
        var sender = await Sender.CloudAsync(_host);
        var before = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        await sender.MessageWhenAsync(before, Sender.StatusIs("sent"), "sent before the outage");

        _azurite.StopQueue();
        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await sender.SendTemplateAsync(Sender.NewPhone()));
            answers.Add(await sender.SendTemplateAsync(Sender.NewPhone(), idempotencyKey: "outage-" + i));
        }

        // Every one was stored, so every one is accepted — none is a 503 the caller would retry into a duplicate.
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.StatusCode));
        var ids = new List<string>();
        foreach (var answer in answers)
        {
            ids.Add(await Sender.AcceptedIdAsync(answer));
        }

        Assert.All(await Task.WhenAll(ids.Select(sender.MessageAsync)), m => Assert.Equal("queued", m.GetProperty("status").GetString()));
        Assert.DoesNotContain(ids, _graph.DeliveredPerMessage.ContainsKey);

        _azurite.StartQueue();
        foreach (var id in ids)
        {
            await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "failed"), "sent after the queue came back");
        }

        Assert.All(await Task.WhenAll(ids.Select(sender.MessageAsync)), m => Assert.Equal("sent", m.GetProperty("status").GetString()));
        Assert.All(ids, id => Assert.Equal(1, _graph.DeliveredPerMessage[id]));
        Assert.Equal(ids.Count + 1, _graph.Sends.Count(s => s.Wamid is not null));
        Assert.Contains(_host.Logs.Entries, e => e.ToString().Contains("enqueued again by the sweeper", StringComparison.Ordinal));

        // Nothing is left for the sweeper.
        var storage = _host.Services.GetRequiredService<StorageAccount>();
        var markers = await storage.GetTableAsync(PendingSends.Table);
        await Eventually.WaitAsync(async () => (await markers.QueryAsync<TableEntity>().ToListAsync()).Count, n => n == 0, what: "no markers left");
    }

    [Fact]
    public async Task A_send_replayed_while_the_queue_is_down_answers_its_first_202_and_goes_out_once()
    {
        var sender = await Sender.CloudAsync(_host);
        _azurite.StopQueue();
        var phone = Sender.NewPhone();
        var first = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(phone, idempotencyKey: "replay-1"));
        var again = await sender.SendTemplateAsync(phone, idempotencyKey: "replay-1");
        Assert.Equal(first, await Sender.AcceptedIdAsync(again));
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());

        _azurite.StartQueue();
        await sender.MessageWhenAsync(first, Sender.StatusIs("sent", "failed"), "sent after the queue came back");
        Assert.Equal("sent", (await sender.MessageAsync(first)).GetProperty("status").GetString());
        Assert.Equal(1, _graph.DeliveredPerMessage[first]);
    }

    [Fact]
    public async Task A_send_left_sending_after_its_claim_expired_is_settled_by_the_sweeper_as_delivery_unknown_and_not_sent_again()
    {
        var sender = await Sender.CloudAsync(_host);
        _azurite.StopQueue();
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        // As if a dispatcher had claimed it and died, with no queue message left to bring it back.
        var (result, _) = await _host.Services.GetRequiredService<MessageStore>().ChangeAsync(sender.Owner.WorkspaceId, id, m =>
        {
            m.Status = MessageStatus.Sending;
            m.Attempts = 1;
            m.ClaimedAt = DateTimeOffset.UtcNow - TimeSpan.FromMinutes(10);
            return true;
        }, null, null, default);
        Assert.Equal(MessageStore.Result.Changed, result);

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "settled by the sweeper");
        Assert.Equal("delivery_unknown", failed.GetProperty("error").GetProperty("code").GetString());
        Assert.False(_graph.DeliveredPerMessage.ContainsKey(id));
    }

    [Fact]
    public async Task A_send_enqueued_again_by_the_sweeper_while_its_queue_message_still_exists_is_sent_once()
    {
        // One instance accepts and sweeps, by hand; another dispatches, once both queue messages are there.
        await using var front = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings())
        {
            ["AzureWebJobs.DispatchSend.Disabled"] = "true",
            ["AzureWebJobs.SweepSends.Disabled"] = "true",
            ["WhatsApp:SweepAfter"] = "00:00:00",
        }, connectionString: _azurite.ConnectionString);
        var sender = await Sender.CloudAsync(front);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone())));
        }

        // As if each request's marker delete had failed after its queue message was written.
        var pending = front.Services.GetRequiredService<PendingSends>();
        foreach (var id in ids)
        {
            await pending.MarkAsync(sender.Owner.WorkspaceId, id);
        }

        Assert.Equal(ids.Count, await front.Services.GetRequiredService<SendSweeper>().SweepAsync());
        var queue = await front.Services.GetRequiredService<StorageAccount>().GetQueueAsync(MessagingNames.SendsQueue);
        Assert.Equal(2 * ids.Count, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);

        await using var worker = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["WhatsApp:ClaimTimeout"] = "00:00:03" }, connectionString: _azurite.ConnectionString, prefix: front.Prefix);
        await Eventually.WaitAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0, TimeSpan.FromSeconds(30), "every queue message done");
        Assert.All(await Task.WhenAll(ids.Select(sender.MessageAsync)), m => Assert.Equal("sent", m.GetProperty("status").GetString()));
        Assert.All(ids, id => Assert.Equal(1, _graph.DeliveredPerMessage[id]));
    }

    [Fact]
    public async Task A_caller_who_leaves_just_after_the_message_is_stored_still_has_it_accepted_and_sent_once()
    {
        var sender = await Sender.CloudAsync(_host);
        var services = _host.Services;

        // Storage as the request sees it, except that the caller goes away the moment the message's transaction is answered.
        using var leaving = new CancellationTokenSource();
        var options = new TableClientOptions();
        options.AddPolicy(new LeaveAfterBatch(leaving), Azure.Core.HttpPipelinePosition.PerCall);
        var storage = new StorageAccount(
            new TableServiceClient(_azurite.ConnectionString, options),
            services.GetRequiredService<Azure.Storage.Queues.QueueServiceClient>(),
            services.GetRequiredService<Microsoft.Extensions.Options.IOptions<StorageOptions>>());
        var store = new MessageStore(storage, TimeProvider.System);
        var enqueuer = new SendEnqueuer(storage);
        var messages = new MessageService(
            store,
            new MessageLifecycle(storage, store, enqueuer, TimeProvider.System),
            enqueuer,
            services.GetRequiredService<IdempotencyStore>(),
            services.GetRequiredService<SendRules>(),
            TimeProvider.System,
            services.GetRequiredService<PendingSends>(),
            services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<MessageService>>());
        var draft = new SendDraft { To = Sender.NewPhone(), Type = "template", Template = new TemplateRef("hello_world", "en_US", null) };

        var outcome = await messages.SendAsync(sender.Owner.WorkspaceId, draft, null, System.Text.Encoding.UTF8.GetBytes("{}"), leaving.Token);

        Assert.True(leaving.IsCancellationRequested);
        Assert.True(outcome.Succeeded);
        var id = outcome.Value.Accepted.MessageId;
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "failed"), "sent");
        Assert.Equal("sent", (await sender.MessageAsync(id)).GetProperty("status").GetString());
        Assert.Equal(1, _graph.DeliveredPerMessage[id]);

        // Enqueued by the request itself, whose queue write is not bound to the caller: not left to the sweeper.
        Assert.DoesNotContain(_host.Logs.Entries, e => e.ToString().Contains(id, StringComparison.Ordinal) && e.ToString().Contains("the sweeper", StringComparison.Ordinal));
    }

    /// <summary>Cancels the caller's token as soon as a transaction ($batch) has been answered.</summary>
    private sealed class LeaveAfterBatch(CancellationTokenSource leaving) : Azure.Core.Pipeline.HttpPipelinePolicy
    {
        public override void Process(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            Leave(message);
        }

        public override async ValueTask ProcessAsync(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            Leave(message);
        }

        private void Leave(Azure.Core.HttpMessage message)
        {
            if (message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal))
            {
                leaving.Cancel();
            }
        }
    }
}
