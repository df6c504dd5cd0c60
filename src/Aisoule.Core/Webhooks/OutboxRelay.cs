using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Webhooks;

/// <summary>An <c>outbox</c> queue message: relay the pending events of one partition of one table.</summary>
public sealed record OutboxNudge(
    [property: JsonPropertyName("t")] string Table,
    [property: JsonPropertyName("p")] string Partition,
    [property: JsonPropertyName("w")] string WorkspaceId)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static OutboxNudge? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<OutboxNudge>(json) is { Table.Length: > 0, Partition.Length: > 0, WorkspaceId.Length: > 0 } nudge && OutboxRelay.Tables.Contains(nudge.Table, StringComparer.Ordinal) ? nudge : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// Moves outbox events to the webhooks (spec §7). A change that writes an event says so after its transaction lands
/// (<see cref="NotifyAsync"/>, when its workspace has a webhook): a queue message names the partition, and the relay
/// reads that partition's pending events in the order they happened, records a delivery for each subscription that wants
/// each one (before any attempt), queues their first attempts, and only then marks the events relayed. A crash at any
/// point leaves the events pending, to be relayed again: deliveries are keyed by event and subscription, so the second
/// run finds the first's and every event keeps its id. A sweep (<see cref="SweepAsync"/>) nudges partitions whose events
/// have waited too long (a nudge that was never written), and deletes relayed events and deliveries past retention.
/// </summary>
public sealed class OutboxRelay(StorageAccount storage, WebhookService hooks, WebhookDeliverer deliverer, Microsoft.Extensions.Options.IOptionsMonitor<WebhookOptions> options, TimeProvider clock, ILogger<OutboxRelay> logger)
{
    public const string Queue = "outbox";
    public const string QueueSetting = "OutboxQueue";
    public const string SweepScheduleSetting = "OutboxSweepSchedule";
    public const string DefaultSweepSchedule = "0 */5 * * * *";

    /// <summary>Events relayed at most per run; a partition with more is nudged again at once.</summary>
    public const int PerRun = 100;

    /// <summary>How long relayed events and deliveries are kept (the events also stop a cause from counting twice).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    /// <summary>The tables whose rows carry outbox events.</summary>
    public static readonly IReadOnlyList<string> Tables = [Contacts.ContactService.Table, Messaging.MessagingNames.Messages, Campaigns.CampaignKeys.Table];

    /// <summary>Events of a partition within this of its last immediate nudge share one nudge, read this much later.</summary>
    private static readonly TimeSpan Gather = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<(string, string), NudgeState> _nudged = new();
    private readonly Dictionary<(string, string), RelayRun> _running = [];
    private readonly RecentReads<string, HasHooks> _hasHooks = new(clock);

    private sealed record HasHooks(bool Any);

    private readonly record struct NudgeState(DateTimeOffset ImmediateAt, DateTimeOffset DelayedReadAt);

    /// <summary>
    /// Called after a transaction that wrote an event to <paramref name="partition"/> of <paramref name="table"/> landed.
    /// Never throws: a nudge that could not be written is made up by the sweep.
    /// </summary>
    public async Task NotifyAsync(string table, string partition, string workspaceId, CancellationToken cancellationToken = default)
    {
        try
        {
            var any = await _hasHooks.GetAsync(workspaceId, TimeSpan.FromSeconds(5), async ct => new HasHooks(await hooks.AnyAsync(workspaceId, ct).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
            if (any is not { Any: true })
            {
                return;
            }

            // The first event of a partition goes at once; events within the next second share one nudge made visible a
            // second later (a queue message's delay is whole seconds), which is read after they all landed.
            var now = clock.GetUtcNow();
            var key = (table, partition);
            var state = _nudged.GetValueOrDefault(key);
            if (state.DelayedReadAt > now + TimeSpan.FromMilliseconds(50))
            {
                return;
            }

            var delay = now - state.ImmediateAt < Gather ? Gather : TimeSpan.Zero;
            _nudged[key] = delay > TimeSpan.Zero ? state with { DelayedReadAt = now + delay } : state with { ImmediateAt = now };
            var queue = await storage.GetQueueAsync(Queue, cancellationToken).ConfigureAwait(false);
            await queue.SendMessageAsync(new OutboxNudge(table, partition, workspaceId).ToJson(), visibilityTimeout: delay > TimeSpan.Zero ? delay : null, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException or IOException)
        {
            _nudged.TryRemove((table, partition), out _);
            WebhookLog.NudgeFailed(logger, ex, table, partition);
        }
    }

    /// <summary>A webhook was made in <paramref name="workspaceId"/>: this instance nudges for its events at once.</summary>
    public void WebhookAdded(string workspaceId) => _hasHooks.Set(workspaceId, new HasHooks(true));

    /// <summary>
    /// Relays up to <see cref="PerRun"/> pending events of the partition a nudge names, and nudges it again when more wait.
    /// One run per partition at a time in this instance: a nudge that comes while one runs is folded into it (that run
    /// nudges again when it ends), so nudges that pile up for a busy partition never become runs racing each other over
    /// the same events (each would record, queue and delete them all again). Runs on two instances can still meet;
    /// that costs work, not correctness, as every step is idempotent. A run that fails leaves its message to be retried.
    /// </summary>
    public async Task RelayAsync(OutboxNudge nudge, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nudge);
        var key = (nudge.Table, nudge.Partition);
        var run = new RelayRun();
        lock (_running)
        {
            if (_running.TryGetValue(key, out var current))
            {
                current.Again = true;
                return;
            }

            _running[key] = run;
        }

        var more = false;
        try
        {
            more = await RelayOnceAsync(nudge, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_running)
            {
                _running.Remove(key);
            }
        }

        if (more || run.Again)
        {
            var queue = await storage.GetQueueAsync(Queue, cancellationToken).ConfigureAwait(false);
            await queue.SendMessageAsync(nudge.ToJson(), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class RelayRun
    {
        public bool Again { get; set; }
    }

    /// <summary>One run: whether more events wait than it took.</summary>
    private async Task<bool> RelayOnceAsync(OutboxNudge nudge, CancellationToken cancellationToken)
    {
        var source = await storage.GetTableAsync(nudge.Table, cancellationToken).ConfigureAwait(false);

        // The oldest pending rows, a page more than a run takes (so it knows whether more wait).
        var pending = new List<TableEntity>();
        await foreach (var row in source.QueryAsync<TableEntity>(OutboxEvent.PendingFilter(nudge.Partition), maxPerPage: PerRun + 1, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            pending.Add(row);
            if (pending.Count > PerRun)
            {
                break;
            }
        }

        if (pending.Count == 0)
        {
            return false;
        }

        var taken = pending.Take(PerRun).ToList();
        // Most pending rows carry their event; the others' event rows are read.
        var carried = new OutboxEvent?[taken.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, taken.Count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            if ((carried[i] = OutboxEvent.FromPending(taken[i])) is not null || OutboxEvent.EventKeyOf(taken[i]) is not { } key)
            {
                return;
            }

            var found = await source.GetEntityIfExistsAsync<TableEntity>(nudge.Partition, key, cancellationToken: ct).ConfigureAwait(false);
            carried[i] = found.HasValue ? OutboxEvent.From(found.Value!) : null;
        }).ConfigureAwait(false);

        // In the order they happened (the pending rows' keys are their times); a pending row whose event is gone is dropped.
        var events = carried.Where(e => e is not null).Select(e => e!).ToList();
        var subscriptions = events.Count == 0 ? [] : await hooks.EnabledAsync(nudge.WorkspaceId, cancellationToken).ConfigureAwait(false);
        var work = new List<WebhookWork>();
        foreach (var hook in subscriptions)
        {
            var deliveries = new List<WebhookDeliveryEntity>();
            foreach (var e in events.Where(e => hook.Wants(e.Name, e.CreatedAt)))
            {
                var (id, body) = WebhookEvents.Body(nudge.Table, e);
                deliveries.Add(deliverer.NewDelivery(nudge.WorkspaceId, hook.Id, id, e.Name, e.CreatedAt, body, WebhookTriggers.Event));
            }

            await deliverer.RecordAllAsync(deliveries, cancellationToken).ConfigureAwait(false);
            if (deliveries.Count > 0)
            {
                // One queue message for this run's deliveries to this webhook, made in order: the queue stays shallow.
                work.Add(new WebhookWork(nudge.WorkspaceId, hook.Id, [.. deliveries.Select(d => new WebhookWorkItem(d.Id, 1))]));
            }
        }

        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (w, ct) =>
            await deliverer.EnqueueAsync(w, null, ct).ConfigureAwait(false)).ConfigureAwait(false);

        // Only now: an event taken off before its deliveries were queued could be lost by a crash.
        foreach (var chunk in taken.Chunk(TableBatch.MaxActions))
        {
            try
            {
                await TableBatch.SubmitAsync(source, [.. chunk.Select(p => new TableTransactionAction(TableTransactionActionType.Delete, p, ETag.All))], cancellationToken).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 404)
            {
                // Another run took some of them meanwhile: the rest one by one (a missing one is answered 404, not thrown).
                foreach (var p in chunk)
                {
                    await source.DeleteEntityAsync(p.PartitionKey, p.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return pending.Count > taken.Count;
    }

    /// <summary>
    /// Nudges every partition holding an event that has waited longer than <see cref="WebhookOptions.StrandedAfter"/> (its
    /// nudge was lost, or its workspace had no webhook then), queues deliveries whose attempt is that late, and deletes relayed events, deliveries and attempts older than <see cref="Retention"/>.
    /// </summary>
    public async Task SweepAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var o = options.CurrentValue;

        // First what recovers lost work (cheapest and most urgent), then retention.
        var deliveries = await storage.GetTableAsync(WebhookDeliverer.Table, cancellationToken).ConfigureAwait(false);
        await RequeueStrandedAsync(deliveries, now, cancellationToken).ConfigureAwait(false);
        var queue = await storage.GetQueueAsync(Queue, cancellationToken).ConfigureAwait(false);
        foreach (var name in Tables)
        {
            var table = await storage.GetTableAsync(name, cancellationToken).ConfigureAwait(false);
            var partitions = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var row in table.QueryAsync<TableEntity>(OutboxEvent.WaitingFilter(now - o.StrandedAfter), select: ["PartitionKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                partitions.Add(row.PartitionKey);
            }

            foreach (var partition in partitions)
            {
                await queue.SendMessageAsync(new OutboxNudge(name, partition, Messaging.Messages.MessageKeys.WorkspaceOf(partition)).ToJson(), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var name in Tables)
        {
            var table = await storage.GetTableAsync(name, cancellationToken).ConfigureAwait(false);
            await DeleteAllAsync(table, OutboxEvent.ExpiredFilter(now - Retention), cancellationToken).ConfigureAwait(false);
            await DeleteAllAsync(table, OutboxEvent.WaitingFilter(now - Retention), cancellationToken).ConfigureAwait(false);
        }

        await DeleteAllAsync(deliveries, TableClient.CreateQueryFilter($"CreatedAt lt {now - Retention}"), cancellationToken).ConfigureAwait(false);
        await DeleteAllAsync(deliveries, TableClient.CreateQueryFilter($"AttemptedAt lt {now - Retention}"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deliveries waiting for an attempt that should have come minutes ago (their queue message was never written: a crash
    /// between a change and its enqueue) get a queue message for the attempt they wait for; a copy that exists is harmless.
    /// </summary>
    private async Task RequeueStrandedAsync(TableClient deliveries, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        var late = now - o.StrandedAfter;
        var filter = TableClient.CreateQueryFilter(
            $"(Status eq {WebhookDeliveryStatus.Pending} and CreatedAt lt {late}) or (Status eq {WebhookDeliveryStatus.Retrying} and NextAttemptAt lt {late}) or (Status eq {WebhookDeliveryStatus.Delivering} and ClaimedAt lt {late - o.ClaimTimeout})");
        var stranded = new List<WebhookDeliveryEntity>();
        await foreach (var d in deliveries.QueryAsync<WebhookDeliveryEntity>(filter, select: ["PartitionKey", "Id", "WebhookId", "Status", "Attempts"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            stranded.Add(d);
        }

        // 100 to a message per webhook, oldest first, as the relay queues them: a backlog is not turned into one
        // message per delivery.
        foreach (var group in stranded.GroupBy(d => (Workspace: WebhookDeliveryEntity.WorkspaceOf(d.PartitionKey), d.WebhookId)))
        {
            var items = group.OrderByDescending(d => d.Id, StringComparer.Ordinal)
                .Select(d => new WebhookWorkItem(d.Id, d.Status == WebhookDeliveryStatus.Delivering ? d.Attempts : d.Attempts + 1));
            foreach (var chunk in items.Chunk(WebhookWork.MaxItems))
            {
                await deliverer.EnqueueAsync(new WebhookWork(group.Key.Workspace, group.Key.WebhookId, chunk), null, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Deletes what <paramref name="filter"/> finds, a page at a time; a row deleted meanwhile is skipped.</summary>
    private static async Task DeleteAllAsync(TableClient table, string filter, CancellationToken cancellationToken)
    {
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).AsPages().ConfigureAwait(false))
        {
            foreach (var partition in page.Values.GroupBy(r => r.PartitionKey))
            {
                foreach (var chunk in partition.Chunk(TableBatch.MaxActions))
                {
                    try
                    {
                        await TableBatch.SubmitAsync(table, [.. chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, ETag.All))], cancellationToken).ConfigureAwait(false);
                    }
                    catch (TableTransactionFailedException ex) when (ex.Status == 404)
                    {
                        foreach (var r in chunk)
                        {
                            await table.DeleteEntityAsync(r.PartitionKey, r.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
            }
        }
    }

}
