using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging.Messages;

/// <summary><c>GET /messages</c> and <c>GET /messages/{id}</c>: the reads of sent messages, never a write.</summary>
public sealed class MessageLister(StorageAccount storage, MessageStore store)
{
    public async Task<Outcome<MessageView>> GetAsync(string workspaceId, string id, CancellationToken cancellationToken = default) =>
        await store.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is { } message
            ? MessageView.From(message)
            : ApiError.NotFound("No message with this id.");

    /// <summary>
    /// Newest first. No filter: the message rows of every partition merged by id, total from the count rows. By
    /// contact or by status: those index ranges read keys-only (both: their intersection), total = its size, then
    /// the page's rows by point read. The cost follows the matches and the page, never the workspace.
    /// </summary>
    public async Task<MessagePage> ListAsync(string workspaceId, string? contactId, string? status, int page, int perPage, CancellationToken cancellationToken = default)
    {
        var table = await storage.GetTableAsync(MessagingNames.Messages, cancellationToken).ConfigureAwait(false);
        var skip = (page - 1) * perPage;
        if (contactId is null && status is null)
        {
            var counts = await Task.WhenAll(MessageKeys.AllPartitions(workspaceId).Select(partition =>
                CounterShards.SumAsync(table, partition, MessageKeys.CountPrefix, cancellationToken))).ConfigureAwait(false);
            var rows = await NewestAsync(table, workspaceId, skip, perPage, cancellationToken).ConfigureAwait(false);
            return new MessagePage([.. rows.Select(MessageView.From)], counts.Sum(), page, perPage);
        }

        HashSet<string>? ids = null;
        if (contactId is not null)
        {
            ids = await IdsAsync(table, workspaceId, MessageKeys.ContactRange(TableKeys.Encode(contactId)), cancellationToken).ConfigureAwait(false);
        }

        if (status is not null)
        {
            var byStatus = await IdsAsync(table, workspaceId, MessageKeys.StatusRange(status), cancellationToken).ConfigureAwait(false);
            ids = ids is null ? byStatus : [.. ids.Intersect(byStatus)];
        }

        var ordered = ids!.Order(StringComparer.Ordinal).ToList();
        var found = await Task.WhenAll(ordered.Skip(skip).Take(perPage).Select(id => store.FindAsync(workspaceId, id, cancellationToken))).ConfigureAwait(false);
        return new MessagePage([.. found.Where(r => r is not null).Select(r => MessageView.From(r!))], ordered.Count, page, perPage);
    }

    /// <summary>
    /// Rows <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="take"/> of the workspace's messages
    /// by id (newest first): each partition is read in order, as far as the merge needs it. The first page reads
    /// its rows in that merge; a deeper page merges keys only, then reads just its own rows, which lie in one
    /// narrow key range per partition — so the skipped messages cost their keys, never their payloads.
    /// </summary>
    private static async Task<List<MessageEntity>> NewestAsync(TableClient table, string workspaceId, int skip, int take, CancellationToken cancellationToken)
    {
        // About twice a partition's even share of the rows before the page's end: one query each, usually.
        var pageSize = Math.Clamp((2 * (skip + take) / MessageKeys.Partitions) + 5, 1, 1000);
        if (skip == 0)
        {
            return await MergeAsync(
                MessageKeys.AllPartitions(workspaceId).Select(p => table.QueryAsync<MessageEntity>(Range(p, MessageKeys.MessagePrefix), maxPerPage: pageSize, cancellationToken: cancellationToken)),
                skip, take, cancellationToken).ConfigureAwait(false);
        }

        var keys = await MergeAsync(
            MessageKeys.AllPartitions(workspaceId).Select(p => table.QueryAsync<TableEntity>(Range(p, MessageKeys.MessagePrefix), maxPerPage: pageSize, select: ["RowKey"], cancellationToken: cancellationToken)),
            skip, take, cancellationToken).ConfigureAwait(false);
        var found = await Task.WhenAll(keys.Select(k => k.RowKey).GroupBy(key => MessageKeys.Partition(workspaceId, key)).Select(async run =>
        {
            var wanted = run.ToHashSet(StringComparer.Ordinal);
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {run.Key} and RowKey ge {run.First()} and RowKey le {run.Last()}");
            var rows = new List<MessageEntity>(wanted.Count);
            await foreach (var row in table.QueryAsync<MessageEntity>(filter, maxPerPage: wanted.Count, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (wanted.Contains(row.RowKey))
                {
                    rows.Add(row);
                }
            }

            return rows;
        })).ConfigureAwait(false);
        var byKey = found.SelectMany(rows => rows).ToDictionary(row => row.RowKey, StringComparer.Ordinal);
        return [.. keys.Select(k => byKey.GetValueOrDefault(k.RowKey)).OfType<MessageEntity>()];
    }

    /// <summary>Rows <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="take"/> of sorted ranges merged by row key.</summary>
    private static async Task<List<T>> MergeAsync<T>(IEnumerable<AsyncPageable<T>> ranges, int skip, int take, CancellationToken cancellationToken)
        where T : class, ITableEntity
    {
        var cursors = ranges.Select(r => r.GetAsyncEnumerator(cancellationToken)).ToList();
        var heads = new PriorityQueue<IAsyncEnumerator<T>, string>(StringComparer.Ordinal);
        var taken = new List<T>(take);
        try
        {
            await Task.WhenAll(cursors.Select(async c =>
            {
                if (await c.MoveNextAsync().ConfigureAwait(false))
                {
                    lock (heads)
                    {
                        heads.Enqueue(c, c.Current.RowKey);
                    }
                }
            })).ConfigureAwait(false);
            for (var position = 0; position < skip + take && heads.TryDequeue(out var next, out _); position++)
            {
                if (position >= skip)
                {
                    taken.Add(next.Current);
                }

                if (await next.MoveNextAsync().ConfigureAwait(false))
                {
                    heads.Enqueue(next, next.Current.RowKey);
                }
            }
        }
        finally
        {
            foreach (var cursor in cursors)
            {
                await cursor.DisposeAsync().ConfigureAwait(false);
            }
        }

        return taken;
    }

    private static async Task<HashSet<string>> IdsAsync(TableClient table, string workspaceId, string prefix, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await Task.WhenAll(MessageKeys.AllPartitions(workspaceId).Select(async partition =>
        {
            await foreach (var row in table.QueryAsync<TableEntity>(Range(partition, prefix), maxPerPage: 1000, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                lock (ids)
                {
                    ids.Add(row.RowKey[prefix.Length..]);
                }
            }
        })).ConfigureAwait(false);
        return ids;
    }

    private static string Range(string partition, string prefix) => TableKeys.PrefixFilter(partition, prefix);
}

/// <summary>One page of messages.</summary>
public sealed record MessagePage(IReadOnlyList<MessageView> Messages, long Total, int Page, int PerPage);
