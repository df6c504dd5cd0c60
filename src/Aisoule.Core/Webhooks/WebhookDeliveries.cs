using System.Security.Cryptography;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Webhooks;

/// <summary>What <c>POST /webhooks/{id}/recover</c> did.</summary>
public sealed record WebhookRecovery(int Replayed, DateTimeOffset Since);

/// <summary>
/// The deliveries as the API shows and drives them (spec §7): a test sent now, the attempts listed newest first, a
/// delivery replayed, every failed delivery since a time recovered.
/// </summary>
public sealed class WebhookDeliveries(StorageAccount storage, WebhookService hooks, WebhookDeliverer deliverer, Microsoft.Extensions.Options.IOptionsMonitor<WebhookOptions> options, TimeProvider clock)
{
    /// <summary>Deliveries one recover replays at most; a larger backlog takes several calls (each answers how many it took).</summary>
    public const int MaxRecover = 5_000;

    /// <summary>Sends a sample of <paramref name="eventName"/> now (enabled or not) and answers how it went. Not retried.</summary>
    public async Task<Outcome<WebhookAttemptView>> TestAsync(string workspaceId, string id, string? eventName, CancellationToken cancellationToken = default)
    {
        if (eventName is not null && !WebhookEvents.IsName(eventName))
        {
            return ApiError.Validation("event", "One of: " + string.Join(", ", WebhookEvents.Names) + ".");
        }

        if (await hooks.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is not { } hook)
        {
            return NotFound();
        }

        var name = eventName ?? hook.Events.FirstOrDefault(WebhookEvents.IsName) ?? WebhookEvents.ContactCreated;
        var now = clock.GetUtcNow();

        // A fresh event id: a receiver that de-duplicates must not drop a second test.
        var eventId = "evt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var body = WebhookEvents.Body(eventId, name, now, WebhookEvents.SampleData(name, now));

        var delivery = await deliverer.RecordAsync(deliverer.NewDelivery(workspaceId, hook.Id, eventId, name, now, body, WebhookTriggers.Test), cancellationToken).ConfigureAwait(false);
        return await deliverer.AttemptAsync(hook, delivery, 1, retries: false, cancellationToken).ConfigureAwait(false) is { } attempt
            ? attempt
            : new ApiError(ErrorCodes.Conflict, "The test delivery was taken by another attempt; list the deliveries to see it.");
    }

    /// <summary>
    /// Attempts, newest first; <paramref name="cursor"/> is the last page's <c>next_cursor</c>. A webhook's attempts sit in
    /// its <see cref="WebhookDeliveryEntity.Shards"/> partitions, with row keys in one order across them (newest first):
    /// each partition gives its first rows after the cursor, and the page is the first of all of those.
    /// </summary>
    public async Task<Outcome<WebhookAttemptPage>> AttemptsAsync(string workspaceId, string id, int perPage, string? cursor, CancellationToken cancellationToken = default)
    {
        if (await hooks.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is null)
        {
            return NotFound();
        }

        var table = await storage.GetTableAsync(WebhookDeliverer.Table, cancellationToken).ConfigureAwait(false);
        var after = cursor is null ? null : WebhookAttemptEntity.RowPrefix + cursor;
        var found = new List<WebhookAttemptEntity>();
        await Parallel.ForEachAsync(WebhookDeliveryEntity.Partitions(workspaceId, id), new ParallelOptions { MaxDegreeOfParallelism = WebhookDeliveryEntity.Shards, CancellationToken = cancellationToken }, async (partition, ct) =>
        {
            var rows = new List<WebhookAttemptEntity>();
            await foreach (var row in table.QueryAsync<WebhookAttemptEntity>(TableKeys.PrefixFilter(partition, WebhookAttemptEntity.RowPrefix, after), maxPerPage: perPage + 1, cancellationToken: ct).ConfigureAwait(false))
            {
                rows.Add(row);
                if (rows.Count > perPage)
                {
                    break;
                }
            }

            lock (found)
            {
                found.AddRange(rows);
            }
        }).ConfigureAwait(false);

        var page = found.OrderBy(r => r.RowKey, StringComparer.Ordinal).Take(perPage + 1).ToList();
        var more = page.Count > perPage;
        var shown = page.Take(perPage).ToList();
        return new WebhookAttemptPage([.. shown.Select(WebhookAttemptView.From)], more ? shown[^1].RowKey[WebhookAttemptEntity.RowPrefix.Length..] : null);
    }

    /// <summary>Whether <paramref name="cursor"/> could be one <see cref="AttemptsAsync"/> gave.</summary>
    public static bool IsCursor(string cursor) =>
        cursor.Length is > 20 and < 80 && cursor.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>Delivers a delivery's event again now, answering how it went; a failure is retried on the schedule from its start.</summary>
    public async Task<Outcome<WebhookAttemptView>> ReplayAsync(string workspaceId, string id, string deliveryId, CancellationToken cancellationToken = default)
    {
        var hook = hooks.FindAsync(workspaceId, id, cancellationToken);
        var found = deliverer.FindAsync(workspaceId, id, deliveryId, cancellationToken);
        if (await hook.ConfigureAwait(false) is not { } h || await found.ConfigureAwait(false) is not { } delivery)
        {
            return ApiError.NotFound("No such delivery of this webhook.");
        }

        if (delivery.Status == WebhookDeliveryStatus.Delivering && delivery.ClaimedAt > clock.GetUtcNow() - options.CurrentValue.ClaimTimeout)
        {
            return new ApiError(ErrorCodes.Conflict, "An attempt of this delivery is under way; try again when it has finished.");
        }

        delivery.Trigger = WebhookTriggers.Replay;
        delivery.Failures = 0;
        return await deliverer.AttemptAsync(h, delivery, delivery.Attempts + 1, retries: true, cancellationToken).ConfigureAwait(false) is { } attempt
            ? attempt
            : new ApiError(ErrorCodes.Conflict, "The delivery changed while it was being replayed; list the deliveries to see it.");
    }

    /// <summary>
    /// Queues a replay of every failed, exhausted or cancelled (its turn came while the webhook was disabled) delivery of
    /// events since <paramref name="since"/> (up to <see cref="MaxRecover"/>).
    /// </summary>
    public async Task<Outcome<WebhookRecovery>> RecoverAsync(string workspaceId, string id, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        if (since < now - OutboxRelay.Retention || since > now)
        {
            return ApiError.Validation("since", $"Within the last {OutboxRelay.Retention.TotalDays:0} days (deliveries are kept that long), and not in the future.");
        }

        if (await hooks.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is null)
        {
            return NotFound();
        }

        var table = await storage.GetTableAsync(WebhookDeliverer.Table, cancellationToken).ConfigureAwait(false);
        var filter = WebhookDeliveryEntity.AllPartitionsFilter(workspaceId, id) + " and "
            + TableClient.CreateQueryFilter($"RowKey ge {WebhookDeliveryEntity.RowPrefix} and RowKey lt {TableKeys.After(WebhookDeliveryEntity.RowPrefix)} and OccurredAt ge {since} and (Status eq {WebhookDeliveryStatus.Failed} or Status eq {WebhookDeliveryStatus.Exhausted} or Status eq {WebhookDeliveryStatus.Cancelled})");
        var failed = new List<WebhookDeliveryEntity>();
        await foreach (var row in table.QueryAsync<WebhookDeliveryEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            failed.Add(row);
            if (failed.Count >= MaxRecover)
            {
                break;
            }
        }

        var replayed = new List<WebhookWorkItem>();
        await Parallel.ForEachAsync(failed, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (d, ct) =>
        {
            var after = d.Clone();
            after.Status = WebhookDeliveryStatus.Retrying;
            after.Trigger = WebhookTriggers.Replay;
            after.Failures = 0;
            after.NextAttemptAt = now;
            try
            {
                // Queued after the change: a message that came first would find it not waiting.
                await table.UpdateEntityAsync(after, d.ETag, TableUpdateMode.Replace, ct).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                return;
            }

            lock (replayed)
            {
                replayed.Add(new WebhookWorkItem(d.Id, d.Attempts + 1));
            }
        }).ConfigureAwait(false);

        // In the order the events happened, 100 to a queue message (a crash before these is made up by the sweep).
        foreach (var chunk in replayed.OrderByDescending(i => i.DeliveryId, StringComparer.Ordinal).Chunk(WebhookWork.MaxItems))
        {
            await deliverer.EnqueueAsync(new WebhookWork(workspaceId, id, chunk), null, cancellationToken).ConfigureAwait(false);
        }

        return new WebhookRecovery(replayed.Count, since);
    }

    private static ApiError NotFound() => ApiError.NotFound("No such webhook in this workspace.");
}
