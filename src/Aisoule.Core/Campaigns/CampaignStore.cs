using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// A campaign's rows (see <see cref="CampaignKeys"/>): the campaign row and the one primitive that changes it (read,
/// change, write back under its ETag, with its outbox event in the same transaction, an event keyed by its cause so a
/// cause counts once), the index of campaigns with work left, and the reads of stats and recipients.
/// </summary>
public sealed class CampaignStore(StorageAccount storage, Webhooks.OutboxRelay? outbox = null)
{
    private readonly CounterShards _listCount = new(CampaignKeys.CountShards);

    public Task<TableClient> TableAsync(CancellationToken cancellationToken = default) => storage.GetTableAsync(CampaignKeys.Table, cancellationToken);

    public Task<TableClient> MessagesAsync(CancellationToken cancellationToken = default) => storage.GetTableAsync(MessagingNames.Messages, cancellationToken);

    public async Task<CampaignEntity?> FindAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        if (!CampaignKeys.IsId(id))
        {
            return null;
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<CampaignEntity>(workspaceId, CampaignKeys.Campaign(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value : null;
    }

    /// <summary>
    /// Stores a new campaign with one of the list's count rows, its event and (with a key) its Idempotency-Key record,
    /// in one transaction. Null when the key's record exists (the caller looks at it).
    /// </summary>
    internal async Task<bool> InsertAsync(CampaignEntity campaign, TableEntity? idempotencyRecord, OutboxEvent? started, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        List<TableTransactionAction> actions = [new(TableTransactionActionType.Add, campaign)];
        if (idempotencyRecord is not null)
        {
            actions.Add(new(TableTransactionActionType.Add, idempotencyRecord));
        }

        started?.AddTo(actions);
        var inserted = await OptimisticRetry.RunAsync<bool>(async attempt =>
        {
            try
            {
                var response = await _listCount.SubmitAsync(table, campaign.PartitionKey, actions, [new(CampaignKeys.CountPrefix, 1)], cancellationToken).ConfigureAwait(false);
                campaign.ETag = response.Value[0].Headers.ETag ?? default;
                return true;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409 && ex.FailedTransactionActionIndex is { } index && index < actions.Count)
            {
                return false;
            }
        }, gaveUp: () => throw new InvalidOperationException("The campaign count rows kept changing."), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (inserted && started is not null)
        {
            await EventWrittenAsync(campaign.PartitionKey, cancellationToken).ConfigureAwait(false);
        }

        return inserted;
    }

    private Task EventWrittenAsync(string workspaceId, CancellationToken cancellationToken) =>
        outbox?.NotifyAsync(CampaignKeys.Table, workspaceId, workspaceId, cancellationToken) ?? Task.CompletedTask;

    /// <summary>
    /// Applies <paramref name="mutate"/> (false: nothing to change) until it lands on the current row; the event
    /// <paramref name="eventOf"/> gives for the changed row goes in the same transaction, and if it exists already the
    /// change was made before and nothing is written. The row as it is after, and whether this call changed it.
    /// </summary>
    public async Task<(bool Changed, CampaignEntity? Campaign)> ChangeAsync(string workspaceId, string id, Func<CampaignEntity, bool> mutate, Func<CampaignEntity, OutboxEvent?>? eventOf = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var wroteEvent = false;
        var outcome = await OptimisticRetry.RunAsync<(bool, CampaignEntity?)>(async attempt =>
        {
            var found = await table.GetEntityIfExistsAsync<CampaignEntity>(workspaceId, CampaignKeys.Campaign(id), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!found.HasValue)
            {
                return (false, null);
            }

            var before = found.Value!;
            var after = before.Clone();
            if (!mutate(after))
            {
                return (false, before);
            }

            List<TableTransactionAction> actions = [new(TableTransactionActionType.UpdateReplace, after, before.ETag)];
            eventOf?.Invoke(after)?.AddTo(actions);
            try
            {
                var response = await TableBatch.SubmitAsync(table, actions, cancellationToken).ConfigureAwait(false);
                after.ETag = response.Value[0].Headers.ETag ?? default;
                wroteEvent = actions.Count > 1;
                return (true, after);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409)
            {
                // Its event exists: this cause was applied before.
                return (false, before);
            }
        }, gaveUp: () => throw new InvalidOperationException($"Campaign {id} kept changing under every attempt to change it."), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (wroteEvent)
        {
            await EventWrittenAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>Newest first; the exact total from the count rows.</summary>
    public async Task<(IReadOnlyList<CampaignEntity> Rows, long Total)> ListAsync(string workspaceId, int page, int perPage, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var total = CounterShards.SumAsync(table, workspaceId, CampaignKeys.CountPrefix, cancellationToken);
        var rows = new List<CampaignEntity>();
        var skip = (page - 1) * perPage;
        var seen = 0;
        await foreach (var row in table.QueryAsync<CampaignEntity>(TableKeys.PrefixFilter(workspaceId, CampaignKeys.CampaignPrefix), maxPerPage: Math.Min(1000, skip + perPage), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (seen++ >= skip)
            {
                rows.Add(row);
                if (rows.Count == perPage)
                {
                    break;
                }
            }
        }

        return (rows, await total.ConfigureAwait(false));
    }

    /// <summary>Marks a campaign as having work left (or not), for the watch timer. Written before a change that gives it work, removed after the one that ends it.</summary>
    public async Task SetActiveAsync(string workspaceId, string id, bool active, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        if (active)
        {
            await table.UpsertEntityAsync(new TableEntity(CampaignKeys.ActivePartition, CampaignKeys.Active(workspaceId, id)) { ["WorkspaceId"] = workspaceId, ["CampaignId"] = id }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            try
            {
                await table.DeleteEntityAsync(CampaignKeys.ActivePartition, CampaignKeys.Active(workspaceId, id), ETag.All, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
            }
        }
    }

    /// <summary>Every campaign marked active, for the watch timer, with when it was marked (the row's time).</summary>
    public async IAsyncEnumerable<(string WorkspaceId, string CampaignId, DateTimeOffset? MarkedAt)> ActiveAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {CampaignKeys.ActivePartition}"), maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.GetString("WorkspaceId") is { } ws && row.GetString("CampaignId") is { } id)
            {
                yield return (ws, id, row.Timestamp);
            }
        }
    }

    /// <summary>The campaign's recipients by status: its stats rows summed, one range query in each message partition.</summary>
    public async Task<Dictionary<string, long>> CountsAsync(string workspaceId, string campaignId, CancellationToken cancellationToken = default) =>
        (await CountsOfAsync(workspaceId, [campaignId], cancellationToken).ConfigureAwait(false)).GetValueOrDefault(campaignId) ?? new(StringComparer.Ordinal);

    /// <summary>
    /// The recipients by status of several campaigns, one range query in each message partition: campaign ids sort by
    /// creation, so a list page's campaigns are one contiguous run of stats rows (only other campaigns' rows between
    /// the first and the last are read, and none are on a page of consecutive campaigns).
    /// </summary>
    public async Task<Dictionary<string, Dictionary<string, long>>> CountsOfAsync(string workspaceId, IReadOnlyList<string> campaignIds, CancellationToken cancellationToken = default)
    {
        var result = campaignIds.ToDictionary(id => id, _ => new Dictionary<string, long>(StringComparer.Ordinal), StringComparer.Ordinal);
        if (campaignIds.Count == 0)
        {
            return result;
        }

        var table = await MessagesAsync(cancellationToken).ConfigureAwait(false);
        var ordered = campaignIds.Order(StringComparer.Ordinal).ToList();
        var (from, to) = (CampaignKeys.StatsRange(ordered[0]), TableKeys.After(CampaignKeys.StatsRange(ordered[^1])));
        var parts = await Task.WhenAll(CampaignKeys.AllPartitions(workspaceId).Select(async partition =>
        {
            var rows = new List<(string Id, string Status, long Count)>();
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {from} and RowKey lt {to}");
            await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey", CounterShards.CountProperty], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                rows.Add((CampaignKeys.CampaignOfStat(row.RowKey), CampaignKeys.StatusOfStat(row.RowKey), row.GetInt64(CounterShards.CountProperty) ?? 0));
            }

            return rows;
        })).ConfigureAwait(false);
        foreach (var (id, status, count) in parts.SelectMany(p => p))
        {
            if (result.TryGetValue(id, out var counts))
            {
                counts[status] = counts.GetValueOrDefault(status) + count;
            }
        }

        return result;
    }

    public async Task<CampaignStats> StatsAsync(string workspaceId, string campaignId, CancellationToken cancellationToken = default) =>
        CampaignStats.From(await CountsAsync(workspaceId, campaignId, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// A page of recipients in (partition, contact) order after the contact <paramref name="after"/> (the previous page's
    /// cursor; its last hex digit names the partition it was in), only those in <paramref name="status"/> and/or of
    /// failure <paramref name="category"/> when given. The cursor of the next page, or null at the end.
    /// </summary>
    public async Task<RecipientPage> RecipientsAsync(string workspaceId, string campaignId, string? status, string? category, int limit, string? after, CancellationToken cancellationToken = default)
    {
        var table = await MessagesAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<RecipientView>();
        var partitions = CampaignKeys.AllPartitions(workspaceId).ToList();
        var range = CampaignKeys.RecipientRange(campaignId);
        var first = after is null ? 0 : Convert.ToInt32(after[^1].ToString(), 16);
        for (var p = first; p < partitions.Count; p++)
        {
            var filter = TableKeys.PrefixFilter(partitions[p], range, p == first && after is not null ? CampaignKeys.Recipient(campaignId, after) : null);
            if (status is not null)
            {
                filter += " and " + TableClient.CreateQueryFilter($"Status eq {status}");
            }

            if (category is not null)
            {
                filter += " and " + TableClient.CreateQueryFilter($"ErrorCategory eq {category}");
            }

            await foreach (var row in table.QueryAsync<RecipientEntity>(filter, maxPerPage: Math.Min(1000, limit + 1), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (found.Count == limit)
                {
                    return new(found, found[^1].ContactId);
                }

                found.Add(RecipientView.From(row));
            }
        }

        return new(found, null);
    }

}
