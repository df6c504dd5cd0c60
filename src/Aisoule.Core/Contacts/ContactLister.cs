using System.Text;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure.Data.Tables;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Lists a workspace's contacts newest first, from its own partition only. No filter, one tag or one stage:
/// the rows come straight off the contact rows or that index, and <c>total</c> is a counter kept exact in the
/// same transactions as the writes (<see cref="CounterShards"/>) — one short range query, whatever the workspace's size. Search and combined filters:
/// the matching index ranges are read keys-only and intersected, so the cost follows the matches, never the
/// whole workspace. Pages past the first skip keys-only; a cursor continues without skipping and without
/// overlaps even while contacts are being added.
/// </summary>
public sealed class ContactLister(StorageAccount storage)
{
    private static readonly string[] KeysOnly = ["RowKey"];
    private static readonly string[] PhoneIndexColumns = ["RowKey", "ContactId"];

    public async Task<Outcome<ContactPage>> ListAsync(string workspaceId, ContactFilter filter, int page, int perPage, string? cursor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        string? after = null;
        if (cursor is not null && (after = DecodeCursor(cursor)) is null)
        {
            return ApiError.Validation("cursor", "Not a cursor this API gave out.");
        }

        var table = await storage.GetTableAsync(ContactService.Table, cancellationToken).ConfigureAwait(false);
        var skip = after is null ? (long)(page - 1) * perPage : 0;

        // One index, one counter: page straight off the index.
        var single = filter switch
        {
            { Tag: { } tag, Stage: null, Search: null } => (Range: ContactKeys.TagRange(tag), Counter: ContactKeys.TagCounter(tag)),
            { Tag: null, Stage: { } stage, Search: null } => (Range: ContactKeys.StageRange(stage), Counter: ContactKeys.StageCounter(stage)),
            { IsEmpty: true } => (Range: ContactKeys.ContactPrefix, Counter: ContactKeys.TotalCounter),
            _ => default,
        };
        if (filter.IsEmpty)
        {
            // The contact rows are their own index: one range query reads the page itself.
            var totalTask = CounterShards.SumAsync(table, workspaceId, single.Counter, cancellationToken);
            var rows = await ContactRowsAsync(table, workspaceId, after, skip, perPage + 1, cancellationToken).ConfigureAwait(false);
            var shown = rows.Take(perPage).Select(ContactView.From).ToList();
            var next = rows.Count > perPage ? EncodeCursor(shown[^1].Id) : null;
            return new ContactPage(shown, await totalTask.ConfigureAwait(false), page, perPage, next);
        }

        if (single.Range is not null)
        {
            var totalTask = CounterShards.SumAsync(table, workspaceId, single.Counter, cancellationToken);
            var ids = await PageOfRangeAsync(table, workspaceId, single.Range, after, skip, perPage + 1, cancellationToken).ConfigureAwait(false);
            return await PageAsync(table, workspaceId, ids, await totalTask.ConfigureAwait(false), page, perPage, cancellationToken).ConfigureAwait(false);
        }

        var matches = await MatchingIdsAsync(table, workspaceId, filter, cancellationToken).ConfigureAwait(false);
        var window = matches.Where(id => after is null || string.CompareOrdinal(id, after) > 0).Skip((int)Math.Min(skip, int.MaxValue)).Take(perPage + 1).ToList();
        return await PageAsync(table, workspaceId, window, matches.Count, page, perPage, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ContactPage> PageAsync(TableClient table, string workspaceId, List<string> ids, long total, int page, int perPage, CancellationToken cancellationToken)
    {
        var shown = ids.Take(perPage).ToList();
        var rows = await Task.WhenAll(shown.Select(id =>
            table.GetEntityIfExistsAsync<ContactEntity>(workspaceId, ContactKeys.Contact(id), cancellationToken: cancellationToken))).ConfigureAwait(false);
        var contacts = rows.Where(r => r.HasValue).Select(r => ContactView.From(r.Value!)).ToList();
        var next = ids.Count > perPage ? EncodeCursor(shown[^1]) : null;
        return new ContactPage(contacts, total, page, perPage, next);
    }

    private static async Task<List<ContactEntity>> ContactRowsAsync(TableClient table, string workspaceId, string? afterId, long skip, int take, CancellationToken cancellationToken)
    {
        var prefix = ContactKeys.ContactPrefix;
        var afterKey = afterId is null ? null : prefix + afterId;
        if (skip > 0)
        {
            // A deep page pays for the keys it passes, not for their custom fields.
            afterKey = await SkippedKeyAsync(table, workspaceId, prefix, skip, cancellationToken).ConfigureAwait(false);
            if (afterKey is null)
            {
                return [];
            }
        }

        var filter = TableKeys.PrefixFilter(workspaceId, prefix, afterKey);
        var rows = new List<ContactEntity>(take);
        await foreach (var row in table.QueryAsync<ContactEntity>(filter, maxPerPage: take, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
            if (rows.Count == take)
            {
                break;
            }
        }

        return rows;
    }

    /// <summary>The row key of the <paramref name="skip"/>th row of a range, read keys-only; null when the range is shorter.</summary>
    private static async Task<string?> SkippedKeyAsync(TableClient table, string workspaceId, string prefix, long skip, CancellationToken cancellationToken)
    {
        var filter = TableKeys.PrefixFilter(workspaceId, prefix);
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: (int)Math.Min(1000, skip), select: KeysOnly, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (--skip == 0)
            {
                return row.RowKey;
            }
        }

        return null;
    }

    /// <summary>Ids (newest first) from one index's key range.</summary>
    private static async Task<List<string>> PageOfRangeAsync(TableClient table, string workspaceId, string prefix, string? afterId, long skip, int take, CancellationToken cancellationToken)
    {
        var filter = TableKeys.PrefixFilter(workspaceId, prefix, afterId is null ? null : prefix + afterId);
        var ids = new List<string>(take);
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: (int)Math.Min(1000, skip + take), select: KeysOnly, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (skip > 0)
            {
                skip--;
                continue;
            }

            ids.Add(ContactKeys.IdOf(row.RowKey));
            if (ids.Count == take)
            {
                break;
            }
        }

        return ids;
    }

    private static async Task<List<string>> MatchingIdsAsync(TableClient table, string workspaceId, ContactFilter filter, CancellationToken cancellationToken)
    {
        var sets = new List<HashSet<string>>();
        if (filter.Tag is { } tag)
        {
            sets.Add(await IndexIdsAsync(table, workspaceId, ContactKeys.TagRange(tag), cancellationToken).ConfigureAwait(false));
        }

        if (filter.Stage is { } stage)
        {
            sets.Add(await IndexIdsAsync(table, workspaceId, ContactKeys.StageRange(stage), cancellationToken).ConfigureAwait(false));
        }

        if (filter.Search is { } search)
        {
            var found = await IndexIdsAsync(table, workspaceId, ContactKeys.NameRange(search), cancellationToken).ConfigureAwait(false);
            if (ContactKeys.IsNameCut(search))
            {
                found = await WhoseNameStartsWithAsync(table, workspaceId, found, search, cancellationToken).ConfigureAwait(false);
            }

            // Usernames too: "pablo" and "@pablo" both find @pablomorales (a keys-only range like the name's).
            // "@" alone (or with spaces) names no username: it would match every contact that has one.
            if (search.Trim().TrimStart('@').Length > 0)
            {
                found.UnionWith(await IndexIdsAsync(table, workspaceId, ContactKeys.UsernameRange(search), cancellationToken).ConfigureAwait(false));
            }

            if (E164.SearchPrefix(search) is { } phone)
            {
                found.UnionWith(await PhoneIdsAsync(table, workspaceId, phone, cancellationToken).ConfigureAwait(false));
            }

            sets.Add(found);
        }

        var result = sets[0];
        foreach (var set in sets.Skip(1))
        {
            result.IntersectWith(set);
        }

        return [.. result.Order(StringComparer.Ordinal)];
    }

    private static async Task<HashSet<string>> IndexIdsAsync(TableClient table, string workspaceId, string prefix, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(
            TableKeys.PrefixFilter(workspaceId, prefix),
            maxPerPage: 1000, select: KeysOnly, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            ids.Add(ContactKeys.IdOf(row.RowKey));
        }

        return ids;
    }

    /// <summary>
    /// Of the contacts found by a name range cut to the index's bound, those whose whole name starts with the search.
    /// Only searches longer than the bound get here, and only names sharing that long a prefix are read.
    /// </summary>
    private static async Task<HashSet<string>> WhoseNameStartsWithAsync(TableClient table, string workspaceId, HashSet<string> ids, string search, CancellationToken cancellationToken)
    {
        var prefix = search.ToLowerInvariant();
        var candidates = ids.ToList();
        var rows = await Task.WhenAll(candidates.Select(id =>
            table.GetEntityIfExistsAsync<ContactEntity>(workspaceId, ContactKeys.Contact(id), [nameof(ContactEntity.Name)], cancellationToken))).ConfigureAwait(false);
        return [.. candidates.Where((_, i) => rows[i].HasValue && rows[i].Value!.Name?.ToLowerInvariant().StartsWith(prefix, StringComparison.Ordinal) == true)];
    }

    private static async Task<HashSet<string>> PhoneIdsAsync(TableClient table, string workspaceId, string phonePrefix, CancellationToken cancellationToken)
    {
        var prefix = ContactKeys.Phone(phonePrefix);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(
            TableKeys.PrefixFilter(workspaceId, prefix),
            maxPerPage: 1000, select: PhoneIndexColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            ids.Add(row.GetString("ContactId"));
        }

        return ids;
    }

    private static string EncodeCursor(string id) => Convert.ToBase64String(Encoding.ASCII.GetBytes(id)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? DecodeCursor(string cursor)
    {
        try
        {
            var padded = cursor.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            var id = Encoding.ASCII.GetString(Convert.FromBase64String(padded));
            return ContactKeys.IsId(id) ? id : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
