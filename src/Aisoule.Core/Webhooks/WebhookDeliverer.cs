using System.Collections.Concurrent;
using System.Text;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Webhooks;

/// <summary>
/// Makes deliveries' attempts (spec §7): at least once, each attempt claimed under the delivery's ETag so two copies of
/// a queue message never both post, signed, throttled per host, recorded with what the receiver answered, and retried
/// on the schedule (or after the receiver's <c>Retry-After</c>) until it is delivered or exhausted. The next attempt's
/// queue message is written before the failed one is recorded, so a crash in between cannot lose the retry.
/// </summary>
public sealed class WebhookDeliverer(
    StorageAccount storage,
    WebhookService hooks,
    WebhookSender sender,
    ThroughputGate gate,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider clock,
    ILogger<WebhookDeliverer> logger)
{
    public const string Table = "webhookdeliveries";
    public const string Queue = "webhookdeliveries";
    public const string QueueSetting = "WebhookDeliveriesQueue";

    /// <summary>Waits before each retry (jittered ±20 %): about 1.5 days in all, then <c>exhausted</c> (<see cref="WebhookOptions.RetrySchedule"/> may set others).</summary>
    public static readonly IReadOnlyList<TimeSpan> Schedule =
    [
        TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(8), TimeSpan.FromHours(24),
    ];

    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(24);
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly RecentReads<(string, string), WebhookEntity> _hooks = new(clock);

    /// <summary>A delivery of an event for a subscription, not yet recorded; its id is the same however often it is made.</summary>
    public WebhookDeliveryEntity NewDelivery(string workspaceId, string webhookId, string eventId, string eventName, DateTimeOffset occurredAt, byte[] body, string trigger)
    {
        ArgumentNullException.ThrowIfNull(body);
        var id = WebhookDeliveryEntity.NewId(occurredAt, eventId);
        return new WebhookDeliveryEntity
        {
            PartitionKey = WebhookDeliveryEntity.Partition(workspaceId, webhookId),
            RowKey = WebhookDeliveryEntity.Row(id),
            Id = id,
            WebhookId = webhookId,
            EventId = eventId,
            Event = eventName,
            Body = Encoding.UTF8.GetString(body),
            OccurredAt = occurredAt,
            CreatedAt = clock.GetUtcNow(),
            Trigger = trigger,
        };
    }

    /// <summary>Records a delivery once: a second call finds the first and returns it as stored.</summary>
    public async Task<WebhookDeliveryEntity> RecordAsync(WebhookDeliveryEntity delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await table.AddEntityAsync(delivery, cancellationToken).ConfigureAwait(false);
            delivery.ETag = response.Headers.ETag ?? default;
            return delivery;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return await FindAsync(WorkspaceOf(delivery.PartitionKey), delivery.WebhookId, delivery.Id, cancellationToken).ConfigureAwait(false) ?? delivery;
        }
    }

    /// <summary>
    /// Records deliveries of one subscription, 100 to a transaction; a transaction that meets one recorded before (a relay
    /// run again) is done one by one, keeping those already there as they are.
    /// </summary>
    public async Task RecordAllAsync(IReadOnlyList<WebhookDeliveryEntity> deliveries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in deliveries.Chunk(TableBatch.MaxActions))
        {
            try
            {
                await TableBatch.SubmitAsync(table, [.. chunk.Select(d => new TableTransactionAction(TableTransactionActionType.Add, d))], cancellationToken).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409)
            {
                foreach (var delivery in chunk)
                {
                    await RecordAsync(delivery, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    public async Task<WebhookDeliveryEntity?> FindAsync(string workspaceId, string webhookId, string deliveryId, CancellationToken cancellationToken = default)
    {
        if (!WebhookDeliveryEntity.IsId(deliveryId))
        {
            return null;
        }

        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<WebhookDeliveryEntity>(WebhookDeliveryEntity.Partition(workspaceId, webhookId), WebhookDeliveryEntity.Row(deliveryId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? found.Value : null;
    }

    public async Task EnqueueAsync(WebhookWork work, TimeSpan? delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var queue = await storage.GetQueueAsync(Queue, cancellationToken).ConfigureAwait(false);
        await queue.SendMessageAsync(work.ToJson(), visibilityTimeout: delay is { } d && d > TimeSpan.Zero ? d : null, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A queue message: makes its attempt if the delivery still waits for it, else does nothing.</summary>
    public async Task RunAsync(WebhookWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var delivery = await FindAsync(work.WorkspaceId, work.WebhookId, work.DeliveryId, cancellationToken).ConfigureAwait(false);
        if (delivery is null || !Awaits(delivery, work.Attempt))
        {
            return;
        }

        // Read at most once a second per webhook: a change or removal is seen within that.
        var hook = await _hooks.GetAsync((work.WorkspaceId, work.WebhookId), TimeSpan.FromSeconds(1), ct => hooks.FindAsync(work.WorkspaceId, work.WebhookId, ct), cancellationToken).ConfigureAwait(false);
        if (hook is null || !hook.Enabled)
        {
            await CancelAsync(delivery, hook is null ? "The webhook was deleted." : "The webhook is disabled.", cancellationToken).ConfigureAwait(false);
            return;
        }

        var o = options.CurrentValue;
        var inFlight = _inFlight.AddOrUpdate(hook.Id, 1, (_, n) => n + 1);
        try
        {
            if (inFlight > o.MaxInFlightPerWebhook)
            {
                // This instance already has enough attempts open to this webhook: a slow one must not hold every worker.
                await EnqueueAsync(work, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
                return;
            }

            var host = new Uri(hook.Url).IdnHost.ToLowerInvariant();
            if (!await gate.AcquireAsync("webhookhost|" + host, o.RateFor(host), TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false))
            {
                await EnqueueAsync(work, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                return;
            }

            await AttemptAsync(hook, delivery, work.Attempt, retries: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _inFlight.AddOrUpdate(hook.Id, 0, (_, n) => n - 1);
        }
    }

    /// <summary>
    /// Makes attempt <paramref name="attempt"/> now and records it; with <paramref name="retries"/> a failure is retried on
    /// the schedule. Null when another caller claimed it first.
    /// </summary>
    public async Task<WebhookAttemptView?> AttemptAsync(WebhookEntity hook, WebhookDeliveryEntity delivery, int attempt, bool retries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentNullException.ThrowIfNull(delivery);
        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        var claimed = delivery.Clone();
        claimed.Attempts = attempt;
        claimed.Status = WebhookDeliveryStatus.Delivering;
        claimed.ClaimedAt = clock.GetUtcNow();
        try
        {
            var response = await table.UpdateEntityAsync(claimed, delivery.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            claimed.ETag = response.Headers.ETag ?? default;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return null;
        }

        // From the claim on, the attempt is made and recorded even if the host is stopping: the post is bounded by its timeout.
        var now = clock.GetUtcNow();
        var body = Encoding.UTF8.GetBytes(claimed.Body);
        var headers = WebhookSignature.Headers(hook.SigningSecrets(now), claimed.EventId, now.ToUnixTimeSeconds(), body);
        var result = await sender.PostAsync(hook.Url, body, headers, CancellationToken.None).ConfigureAwait(false);
        var at = clock.GetUtcNow();

        string outcome;
        var after = claimed.Clone();
        after.ClaimedAt = null;
        after.LastAttemptAt = now;
        after.LastStatusCode = result.StatusCode;
        after.LastError = result.Error;
        after.NextAttemptAt = null;
        if (result.Succeeded)
        {
            (after.Status, outcome) = (WebhookDeliveryStatus.Delivered, "delivered");
        }
        else if (result.Gone)
        {
            (after.Status, outcome) = (WebhookDeliveryStatus.Failed, "unsubscribed");
        }
        else if (retries && claimed.Failures < options.CurrentValue.Retries.Count)
        {
            var wait = result.RetryAfter is { } asked ? Clamp(asked) : Jitter(options.CurrentValue.Retries[claimed.Failures]);
            after.Failures++;
            after.Status = WebhookDeliveryStatus.Retrying;
            after.NextAttemptAt = at + wait;
            outcome = "retrying";

            // The retry's queue message first: a crash before the record below leaves it to find the claim and go again.
            await EnqueueAsync(new WebhookWork(WorkspaceOf(claimed.PartitionKey), hook.Id, claimed.Id, attempt + 1), wait, CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            after.Failures++;
            (after.Status, outcome) = retries ? (WebhookDeliveryStatus.Exhausted, "exhausted") : (WebhookDeliveryStatus.Failed, "failed");
        }

        var record = new WebhookAttemptEntity
        {
            PartitionKey = claimed.PartitionKey,
            RowKey = WebhookAttemptEntity.Row(now, claimed.Id, attempt),
            DeliveryId = claimed.Id,
            EventId = claimed.EventId,
            Event = claimed.Event,
            Attempt = attempt,
            Trigger = claimed.Trigger,
            AttemptedAt = now,
            StatusCode = result.StatusCode,
            DurationMs = (int)Math.Min(int.MaxValue, result.Duration.TotalMilliseconds),
            Response = result.Response is { } r ? StoredSize.Cut(r, WebhookSender.ResponseExcerptBytes) : null,
            Error = result.Error,
            Succeeded = result.Succeeded,
            Outcome = outcome,
            NextAttemptAt = after.NextAttemptAt,
        };
        try
        {
            await TableBatch.SubmitAsync(table, [new(TableTransactionActionType.UpdateReplace, after, claimed.ETag), new(TableTransactionActionType.UpsertReplace, record)], CancellationToken.None).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 412 or 404)
        {
            // Replayed or removed meanwhile: the attempt is still shown.
            await table.UpsertEntityAsync(record, TableUpdateMode.Replace, CancellationToken.None).ConfigureAwait(false);
        }

        var workspaceId = WorkspaceOf(claimed.PartitionKey);
        await hooks.RecordHealthAsync(workspaceId, hook.Id, claimed.Id, result, CancellationToken.None).ConfigureAwait(false);
        if (result.Gone)
        {
            WebhookLog.Gone(logger, hook.Id);
            await hooks.DeleteAsync(workspaceId, hook.Id, CancellationToken.None).ConfigureAwait(false);
        }

        return WebhookAttemptView.From(record);
    }

    /// <summary>Whether <paramref name="delivery"/> waits for attempt <paramref name="attempt"/> (or that attempt was cut off by a crash).</summary>
    private bool Awaits(WebhookDeliveryEntity delivery, int attempt) =>
        (delivery.Attempts == attempt - 1 && delivery.Status is WebhookDeliveryStatus.Pending or WebhookDeliveryStatus.Retrying)
        || (delivery.Attempts == attempt && delivery.Status == WebhookDeliveryStatus.Delivering && delivery.ClaimedAt < clock.GetUtcNow() - options.CurrentValue.ClaimTimeout);

    private async Task CancelAsync(WebhookDeliveryEntity delivery, string why, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        var after = delivery.Clone();
        after.Status = WebhookDeliveryStatus.Cancelled;
        after.LastError = why;
        after.NextAttemptAt = null;
        try
        {
            await table.UpdateEntityAsync(after, delivery.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // Someone else moved it: theirs stands.
        }
    }

    internal static string WorkspaceOf(string partition) => partition[..partition.LastIndexOf('|')];

    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait > MaxRetryAfter ? MaxRetryAfter : wait;

    private static TimeSpan Jitter(TimeSpan wait) => wait * (0.8 + (Random.Shared.NextDouble() * 0.4));
}
