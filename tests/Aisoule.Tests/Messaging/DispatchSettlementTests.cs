using System.Globalization;
using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Aisoule.Core.WhatsApp;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>How the dispatcher settles a claim it cannot finish: poisoned while sending, or stopped before its slot.</summary>
public sealed class DispatchSettlementTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        // Nothing dispatches here on its own: each test moves its message itself.
        _host = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["AzureWebJobs.DispatchSend.Disabled"] = "true" });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task A_send_poisoned_while_sending_fails_as_delivery_unknown_and_metas_later_status_revives_it()
    {
        var sender = await Sender.CloudAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        // Claimed (so Meta may have been called), then its queue message failed until the host gave up on it.
        var (result, _) = await _host.Services.GetRequiredService<MessageStore>().ChangeAsync(sender.Owner.WorkspaceId, id, m =>
        {
            m.Status = MessageStatus.Sending;
            m.Attempts = 1;
            m.ClaimedAt = DateTimeOffset.UtcNow;
            return true;
        }, null, null, default);
        Assert.Equal(MessageStore.Result.Changed, result);
        var poison = await _host.Services.GetRequiredService<StorageAccount>().GetQueueAsync(SendEnqueuer.PoisonQueue);
        await poison.SendMessageAsync(new SendWork(sender.Owner.WorkspaceId, id, 0).ToJson());

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed by the poison handler");
        Assert.Equal("delivery_unknown", failed.GetProperty("error").GetProperty("code").GetString());

        // Meta did send it after all: its status moves the message on.
        var status = MetaWebhook.Status(sender.PhoneNumberId, "wamid.LATE" + Guid.NewGuid().ToString("N"), "delivered", callback: $"{sender.Owner.WorkspaceId} {id}");
        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, status));
        var delivered = await sender.MessageWhenAsync(id, Sender.StatusIs("delivered"), "revived by Meta's status");
        Assert.Equal(JsonValueKind.Null, delivered.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task A_stop_that_comes_as_the_wait_for_a_slot_ends_gives_the_send_back_to_queued_without_calling_meta()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 1);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        // The number's schedule is taken for the next hour: no slot within the dispatcher's wait.
        var storage = _host.Services.GetRequiredService<StorageAccount>();
        var throughput = await storage.GetTableAsync(MessagingNames.Throughput);
        var later = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        await throughput.UpsertEntityAsync(new TableEntity(sender.PhoneNumberId, "") { ["Last"] = later }, TableUpdateMode.Replace);

        // The host starts stopping just as the gate decides there is no slot.
        using var stopping = new CancellationTokenSource();
        var clock = new StopsInGate(stopping);
        var services = _host.Services;
        var dispatcher = new SendDispatcher(
            services.GetRequiredService<MessageStore>(),
            services.GetRequiredService<MessageLifecycle>(),
            services.GetRequiredService<DeliveryPolicy>(),
            services.GetRequiredService<SendEnqueuer>(),
            services.GetRequiredService<WhatsAppAccountService>(),
            new ThroughputGate(storage, clock),
            services.GetRequiredService<IWhatsAppProvider>(),
            services.GetRequiredService<IOptionsMonitor<WhatsAppOptions>>(),
            clock,
            services.GetRequiredService<ILogger<SendDispatcher>>());
        try
        {
            await dispatcher.DispatchAsync(new SendWork(sender.Owner.WorkspaceId, id, 0), stopping.Token);
        }
        catch (OperationCanceledException)
        {
            // A stopping host may see its invocation cancelled; what matters is what was stored.
        }

        Assert.True(stopping.IsCancellationRequested);
        var message = await sender.MessageAsync(id);
        Assert.Equal("queued", message.GetProperty("status").GetString());
        Assert.False(_graph.DeliveredPerMessage.ContainsKey(id));
    }

    [Fact]
    public async Task A_queue_message_carrying_a_row_that_changed_since_is_decided_on_the_row_as_it_is_now()
    {
        var sender = await Sender.CloudAsync(_host);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        var queue = await _host.Services.GetRequiredService<StorageAccount>().GetQueueAsync(MessagingNames.SendsQueue);
        var received = (await queue.ReceiveMessageAsync()).Value;
        var work = SendWork.Parse(received.MessageText)!;
        Assert.Equal(id, work.MessageId);
        Assert.Equal("queued", work.Row!.Status);

        // Since the queue message was written, another instance claimed the message and died calling Meta.
        var (result, _) = await _host.Services.GetRequiredService<MessageStore>().ChangeAsync(sender.Owner.WorkspaceId, id, m =>
        {
            m.Status = MessageStatus.Sending;
            m.Attempts = 1;
            m.ClaimedAt = DateTimeOffset.UtcNow.AddHours(-1);
            return true;
        }, null, null, default);
        Assert.Equal(MessageStore.Result.Changed, result);

        await _host.Services.GetRequiredService<SendDispatcher>().DispatchAsync(work);

        // Not sent again on the strength of the old row: the dead claim is settled as the row now says.
        var message = await sender.MessageAsync(id);
        Assert.Equal("failed", message.GetProperty("status").GetString());
        Assert.Equal("delivery_unknown", message.GetProperty("error").GetProperty("code").GetString());
        Assert.False(_graph.DeliveredPerMessage.ContainsKey(id));
    }

    /// <summary>The system clock, which cancels <paramref name="stopping"/> when the gate reads it while reserving slots.</summary>
    private sealed class StopsInGate(CancellationTokenSource stopping) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow()
        {
            if (Environment.StackTrace.Contains("ReserveAsync", StringComparison.Ordinal))
            {
                stopping.Cancel();
            }

            return System.GetUtcNow();
        }
    }
}
