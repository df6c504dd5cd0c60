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
    private readonly ConcurrentDictionary<string, double> _runSeconds = new(StringComparer.Ordinal);
    private readonly RecentReads<(string, string), WebhookEntity> _hooks = new(clock);

    /// <summary>A delivery of an event for a subscription, not yet recorded; its id is the same however often it is made.</summary>
    public WebhookDeliveryEntity NewDelivery(string workspaceId, string webhookId, string eventId, string eventName, DateTimeOffset occurredAt, byte[] body, string trigger)
    {
        ArgumentNullException.ThrowIfNull(body);
        var id = WebhookDeliveryEntity.NewId(occurredAt, eventId);
        return new WebhookDeliveryEntity
        {
            PartitionKey = WebhookDeliveryEntity.Partition(workspaceId, webhookId, id),
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
            return await FindAsync(WebhookDeliveryEntity.WorkspaceOf(delivery.PartitionKey), delivery.WebhookId, delivery.Id, cancellationToken).ConfigureAwait(false) ?? delivery;
        }
    }

    /// <summary>
    /// Records deliveries of one subscription, a transaction per partition (and per 100), side by side; a transaction that
    /// meets one recorded before (a relay run again) is done one by one, keeping those already there as they are.
    /// </summary>
    public async Task RecordAllAsync(IReadOnlyList<WebhookDeliveryEntity> deliveries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        var chunks = deliveries.GroupBy(d => d.PartitionKey, StringComparer.Ordinal).SelectMany(Chunks);
        await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = WebhookDeliveryEntity.Shards, CancellationToken = cancellationToken }, async (chunk, ct) =>
        {
            try
            {
                await TableBatch.SubmitAsync(table, [.. chunk.Select(d => new TableTransactionAction(TableTransactionActionType.Add, d))], ct).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409)
            {
                foreach (var delivery in chunk)
                {
                    await RecordAsync(delivery, ct).ConfigureAwait(false);
                }
            }
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Up to 100 deliveries a transaction, and bodies of at most 400,000 characters in all: a transaction is at most 4 MiB
    /// on the wire, where a non-ASCII character can take 6 bytes (<c>\uXXXX</c>).
    /// </summary>
    private static IEnumerable<List<WebhookDeliveryEntity>> Chunks(IEnumerable<WebhookDeliveryEntity> deliveries)
    {
        var chunk = new List<WebhookDeliveryEntity>();
        var chars = 0;
        foreach (var d in deliveries)
        {
            if (chunk.Count > 0 && (chunk.Count == TableBatch.MaxActions || chars + d.Body.Length > 400_000))
            {
                yield return chunk;
                (chunk, chars) = ([], 0);
            }

            chunk.Add(d);
            chars += d.Body.Length;
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    public async Task<WebhookDeliveryEntity?> FindAsync(string workspaceId, string webhookId, string deliveryId, CancellationToken cancellationToken = default)
    {
        if (!WebhookDeliveryEntity.IsId(deliveryId))
        {
            return null;
        }

        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<WebhookDeliveryEntity>(WebhookDeliveryEntity.Partition(workspaceId, webhookId, deliveryId), WebhookDeliveryEntity.Row(deliveryId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? found.Value : null;
    }

    public async Task EnqueueAsync(WebhookWork work, TimeSpan? delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var queue = await storage.GetQueueAsync(Queue, cancellationToken).ConfigureAwait(false);
        await queue.SendMessageAsync(work.ToJson(), visibilityTimeout: delay is { } d && d > TimeSpan.Zero ? d : null, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A queue message: makes, in order, the attempts its deliveries still wait for. When one fails and more follow, the
    /// rest wait as its retry does (a new message, after the same wait) instead of each failing now against an endpoint
    /// that is down; after as many put-offs as the schedule has retries, each is tried on its own.
    /// </summary>
    public async Task RunAsync(WebhookWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var o = options.CurrentValue;
        var inFlight = _inFlight.AddOrUpdate(work.WebhookId, 1, (_, n) => n + 1);
        try
        {
            if (inFlight > o.MaxInFlightPerWebhook)
            {
                // This instance already works on enough of this webhook's messages: a slow endpoint must not hold every
                // worker. Checked before anything is read, so a message waiting its turn costs no storage reads. It comes
                // back after about as long as this webhook's messages have been taking (2 s to a minute): a backlog of
                // long messages is not put back every 2 s, each time a queue write and delete.
                await EnqueueAsync(work, TurnWait(work.WebhookId), cancellationToken).ConfigureAwait(false);
                return;
            }

            var started = clock.GetTimestamp();
            await RunBatchAsync(work, o, cancellationToken).ConfigureAwait(false);
            var took = clock.GetElapsedTime(started).TotalSeconds;
            _runSeconds.AddOrUpdate(work.WebhookId, took, (_, average) => (0.7 * average) + (0.3 * took));
        }
        finally
        {
            _inFlight.AddOrUpdate(work.WebhookId, 0, (_, n) => n - 1);
        }
    }

    /// <summary>How long a message over the in-flight cap waits: this webhook's recent message time (averaged), jittered, 2–60 s.</summary>
    private TimeSpan TurnWait(string webhookId)
    {
        var seconds = _runSeconds.GetValueOrDefault(webhookId) * (0.8 + (Random.Shared.NextDouble() * 0.4));
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 2, 60));
    }

    private async Task RunBatchAsync(WebhookWork work, WebhookOptions o, CancellationToken cancellationToken)
    {
        var found = await FindManyAsync(work.WorkspaceId, work.WebhookId, work.Items.Select(i => i.DeliveryId), cancellationToken).ConfigureAwait(false);
        var waiting = work.Items.Select(i => (Item: i, Delivery: found.GetValueOrDefault(i.DeliveryId)))
            .Where(x => x.Delivery is not null && Awaits(x.Delivery, x.Item.Attempt))
            .Select(x => (x.Item, Delivery: x.Delivery!))
            .ToList();

        // A retry's message is written before the failed attempt is recorded (so a crash cannot lose it): one that comes
        // while that record is still on its way finds the previous attempt "delivering", and looks again in a second.
        var early = work.Items.Where(i => found.GetValueOrDefault(i.DeliveryId) is { Status: WebhookDeliveryStatus.Delivering } d && d.Attempts == i.Attempt - 1).ToList();
        if (early.Count > 0)
        {
            await EnqueueAsync(work with { Items = early }, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }

        if (waiting.Count == 0)
        {
            return;
        }

        // Read at most once a second per webhook: a change or removal is seen within that.
        var hook = await _hooks.GetAsync((work.WorkspaceId, work.WebhookId), TimeSpan.FromSeconds(1), ct => hooks.FindAsync(work.WorkspaceId, work.WebhookId, ct), cancellationToken).ConfigureAwait(false);
        if (hook is null || !hook.Enabled)
        {
            foreach (var (_, delivery) in waiting)
            {
                await CancelAsync(delivery, hook is null ? "The webhook was deleted." : "The webhook is disabled.", cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var host = new Uri(hook.Url).IdnHost.ToLowerInvariant();
        for (var i = 0; i < waiting.Count; i++)
        {
            var rest = work with { Items = [.. waiting.Skip(i).Select(w => w.Item)] };

            // Paced per workspace and host: another workspace's burst to the same host never uses this one's rate.
            if (!await gate.AcquireAsync("webhookhost|" + work.WorkspaceId + "|" + host, o.RateFor(host), TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false))
            {
                await EnqueueAsync(rest, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                return;
            }

            var (item, delivery) = waiting[i];
            var attempt = await AttemptAsync(hook, delivery, item.Attempt, retries: true, cancellationToken).ConfigureAwait(false);
            if (attempt is null && await FindAsync(work.WorkspaceId, work.WebhookId, item.DeliveryId, cancellationToken).ConfigureAwait(false) is { } again && Awaits(again, item.Attempt))
            {
                // The row moved since it was read (not by another attempt: it still waits for this one): claim it as it is now.
                attempt = await AttemptAsync(hook, again, item.Attempt, retries: true, cancellationToken).ConfigureAwait(false);
            }

            if (attempt is { Outcome: "unsubscribed" })
            {
                return;
            }

            if (attempt is { Succeeded: false } && i + 1 < waiting.Count && work.Deferrals < o.Retries.Count)
            {
                var wait = attempt.NextAttemptAt is { } next && next > clock.GetUtcNow() ? next - clock.GetUtcNow() : Jitter(o.Retries[work.Deferrals]);
                var later = waiting.Skip(i + 1).ToList();

                // Marked before the message is written, so the message never meets the rows changing under it.
                await MarkWaitingAsync(later.Select(w => w.Delivery), clock.GetUtcNow() + wait).ConfigureAwait(false);
                await EnqueueAsync(work with { Items = [.. later.Select(w => w.Item)], Deferrals = work.Deferrals + 1 }, wait, CancellationToken.None).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>
    /// Shows deliveries put off behind a failing one as <c>retrying</c> with their time (a transaction per partition), so the
    /// sweep knows them as waiting rather than stranded. Best effort: one changed meanwhile keeps its own state.
    /// </summary>
    private async Task MarkWaitingAsync(IEnumerable<WebhookDeliveryEntity> deliveries, DateTimeOffset next)
    {
        var table = await storage.GetTableAsync(Table, CancellationToken.None).ConfigureAwait(false);
        foreach (var chunk in deliveries.GroupBy(d => d.PartitionKey, StringComparer.Ordinal).SelectMany(p => p.Chunk(TableBatch.MaxActions)))
        {
            try
            {
                await TableBatch.SubmitAsync(table, [.. chunk.Select(d => new TableTransactionAction(TableTransactionActionType.UpdateMerge,
                    new TableEntity(d.PartitionKey, d.RowKey) { ["Status"] = WebhookDeliveryStatus.Retrying, ["NextAttemptAt"] = next }, d.ETag))], CancellationToken.None).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 412 or 404)
            {
                // Replayed or removed meanwhile: theirs stands, and the queue message finds it not waiting.
            }
        }
    }

    /// <summary>Deliveries of one webhook by id: one read for many (one key range), a point read for one.</summary>
    private async Task<Dictionary<string, WebhookDeliveryEntity>> FindManyAsync(string workspaceId, string webhookId, IEnumerable<string> deliveryIds, CancellationToken cancellationToken)
    {
        var ids = deliveryIds.Where(WebhookDeliveryEntity.IsId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var found = new Dictionary<string, WebhookDeliveryEntity>(StringComparer.Ordinal);
        if (ids.Count == 1)
        {
            if (await FindAsync(workspaceId, webhookId, ids[0], cancellationToken).ConfigureAwait(false) is { } one)
            {
                found[one.Id] = one;
            }

            return found;
        }

        if (ids.Count == 0)
        {
            return found;
        }

        var table = await storage.GetTableAsync(Table, cancellationToken).ConfigureAwait(false);
        var wanted = ids.ToHashSet(StringComparer.Ordinal);
        var filter = WebhookDeliveryEntity.AllPartitionsFilter(workspaceId, webhookId) + " and " + TableClient.CreateQueryFilter($"RowKey ge {WebhookDeliveryEntity.Row(ids[0])} and RowKey le {WebhookDeliveryEntity.Row(ids[^1])}");
        await foreach (var d in table.QueryAsync<WebhookDeliveryEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (wanted.Contains(d.Id))
            {
                found[d.Id] = d;
            }
        }

        return found;
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
            // The receiver's Retry-After when it asks for longer than the schedule's wait: a short one must not spend the
            // schedule's retries in seconds.
            var scheduled = Jitter(options.CurrentValue.Retries[claimed.Failures]);
            var wait = result.RetryAfter is { } asked && Clamp(asked) > scheduled ? Clamp(asked) : scheduled;
            after.Failures++;
            after.Status = WebhookDeliveryStatus.Retrying;
            after.NextAttemptAt = at + wait;
            outcome = "retrying";

            // The retry's queue message first: a crash before the record below leaves it to find the claim and go again.
            await EnqueueAsync(WebhookWork.One(WebhookDeliveryEntity.WorkspaceOf(claimed.PartitionKey), hook.Id, claimed.Id, attempt + 1), wait, CancellationToken.None).ConfigureAwait(false);
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

        var workspaceId = WebhookDeliveryEntity.WorkspaceOf(claimed.PartitionKey);
        await hooks.RecordHealthAsync(workspaceId, hook.Id, newFailedEvent: !result.Succeeded && claimed.Failures == 0, result, CancellationToken.None).ConfigureAwait(false);
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

    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait > MaxRetryAfter ? MaxRetryAfter : wait;

    private static TimeSpan Jitter(TimeSpan wait) => wait * (0.8 + (Random.Shared.NextDouble() * 0.4));
}
