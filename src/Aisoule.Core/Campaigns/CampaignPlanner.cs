using System.Collections.Concurrent;
using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Storage;
using Azure.Data.Tables;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// Resolves a campaign's audience into its frozen recipient list: contacts with any of the tags (in the stage, when
/// one is given too; the stage alone when no tag is), plus the listed contact ids, each once, none created after the
/// campaign started. Each contact is planned <c>pending</c> (its values resolved and frozen, its message id chosen) or
/// <c>skipped</c> with a reason. Writing is idempotent: a recipient row is an insert, so planning again after a crash
/// adds only what is missing, and the stats rows move in the same transactions as the rows they count.
/// </summary>
public sealed class CampaignPlanner(StorageAccount storage, ContactService contacts, TimeProvider clock)
{
    /// <summary>Above this many listed ids (or any tag or stage), the workspace's contacts are read in one range query, not one by one.</summary>
    private const int PointReadLimit = 200;

    /// <summary>Recipient rows per transaction (a transaction holds 100 actions; two are the stats rows).</summary>
    private const int Chunk = 98;

    private static readonly string[] KeysOnly = ["RowKey"];

    /// <summary>What the audience resolves to, each contact planned or skipped.</summary>
    public sealed record Plan(IReadOnlyList<RecipientEntity> Recipients, IReadOnlyDictionary<string, long> Skips)
    {
        public long Sendable => Recipients.Count(r => r.Status == RecipientStatus.Pending);
    }

    public async Task<Plan> ResolveAsync(string workspaceId, CampaignEntity campaign, DateTimeOffset startedAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(campaign);
        var audience = Audience.FromJson(campaign.AudienceJson);
        var found = await ContactsAsync(workspaceId, audience, startedAt, cancellationToken).ConfigureAwait(false);
        using var components = campaign.ComponentsJson is { } json ? JsonDocument.Parse(json) : null;
        var marketing = string.Equals(campaign.TemplateCategory, "MARKETING", StringComparison.OrdinalIgnoreCase);
        var authentication = string.Equals(campaign.TemplateCategory, "AUTHENTICATION", StringComparison.OrdinalIgnoreCase);
        var skips = new Dictionary<string, long>(StringComparer.Ordinal);
        var recipients = new List<RecipientEntity>(found.Count);
        var now = clock.GetUtcNow();
        foreach (var (id, contact) in found.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var recipient = new RecipientEntity
            {
                PartitionKey = CampaignKeys.RecipientPartition(workspaceId, id),
                RowKey = CampaignKeys.Recipient(campaign.Id, id),
                CampaignId = campaign.Id,
                ContactId = id,
                MessageId = CampaignKeys.MessageIdIn(now, id[^1]),
                UpdatedAt = now,
            };
            string? skip = null;
            if (contact is null)
            {
                skip = SkipReasons.ContactNotFound;
            }
            else if (marketing && !contact.OptedIn)
            {
                skip = SkipReasons.OptedOut;
            }
            else if (string.IsNullOrEmpty(contact.PhoneNumber) && (authentication || string.IsNullOrEmpty(contact.WaUserId)))
            {
                skip = SkipReasons.NoUsableIdentifier;
            }
            else
            {
                recipient.To = string.IsNullOrEmpty(contact.PhoneNumber) ? null : contact.PhoneNumber;
                recipient.UserId = recipient.To is null ? contact.WaUserId : null;
                recipient.LastInboundAt = contact.LastInboundAt;
                if (campaign.Personalised && components is not null)
                {
                    var resolved = ContactVariables.Resolve(components.RootElement, contact);
                    if (resolved.MissingVariable is { } missing)
                    {
                        skip = SkipReasons.MissingVariable;
                        recipient.MissingVariable = missing;
                    }
                    else if (resolved.ComponentsJson!.Length > MaxResolvedChars)
                    {
                        skip = SkipReasons.ValueTooLarge;
                    }
                    else
                    {
                        recipient.ComponentsJson = resolved.ComponentsJson;
                    }
                }
            }

            if (skip is not null)
            {
                recipient.Status = RecipientStatus.Skipped;
                recipient.SkipReason = skip;
                recipient.To = null;
                recipient.UserId = null;
                skips[skip] = skips.GetValueOrDefault(skip) + 1;
            }

            recipients.Add(recipient);
        }

        return new Plan(recipients, skips);
    }

    /// <summary>The most a recipient's resolved components may take: what leaves room in the message payload (one string property).</summary>
    public const int MaxResolvedChars = 24_000;

    /// <summary>
    /// Writes the plan: recipient rows with their stats in transactions of <see cref="Chunk"/>, the 16 partitions in
    /// parallel. A transaction that meets a row written before (a plan cut short) is written again row by row, each
    /// new row with its own count, so the stats count every row once.
    /// </summary>
    public async Task WriteAsync(Plan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var table = await storage.GetTableAsync(Messaging.MessagingNames.Messages, cancellationToken).ConfigureAwait(false);
        var counts = new CounterShards(4);
        await Parallel.ForEachAsync(plan.Recipients.GroupBy(r => r.PartitionKey), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (partition, ct) =>
        {
            foreach (var chunk in partition.Chunk(Chunk))
            {
                if (!await SubmitAsync(counts, table, partition.Key, chunk, ct).ConfigureAwait(false))
                {
                    foreach (var one in chunk)
                    {
                        // False again: this one was planned before.
                        await SubmitAsync(counts, table, partition.Key, [one], ct).ConfigureAwait(false);
                    }
                }
            }
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds <paramref name="rows"/> with their stats; false when one of them exists already (nothing is written then).
    /// Only a stats shard that moved meanwhile is tried again: a recipient row that exists is no conflict to wait out.
    /// </summary>
    private static Task<bool> SubmitAsync(CounterShards counts, TableClient table, string partition, RecipientEntity[] rows, CancellationToken cancellationToken)
    {
        var deltas = rows.GroupBy(r => r.Status).Select(g => new KeyValuePair<string, long>(CampaignKeys.Stat(rows[0].CampaignId, g.Key), g.Count())).ToList();
        return OptimisticRetry.RunAsync<bool>(async _ =>
        {
            try
            {
                await counts.SubmitAsync(table, partition, [.. rows.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r))], deltas, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409 && ex.FailedTransactionActionIndex is { } index && index < rows.Length)
            {
                return false;
            }
        }, gaveUp: () => throw new InvalidOperationException("The campaign's stats rows kept changing while planning."), cancellationToken: cancellationToken);
    }

    /// <summary>The audience's contacts by id (null: a listed id with no contact), none created after <paramref name="startedAt"/>.</summary>
    private async Task<Dictionary<string, ContactEntity?>> ContactsAsync(string workspaceId, Audience audience, DateTimeOffset startedAt, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(ContactService.Table, cancellationToken).ConfigureAwait(false);
        HashSet<string>? matched = null;
        if (audience.Tags.Count > 0)
        {
            matched = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tag in audience.Tags)
            {
                matched.UnionWith(await IdsAsync(table, workspaceId, ContactKeys.TagRange(tag), cancellationToken).ConfigureAwait(false));
            }
        }

        if (audience.Stage is { } stage)
        {
            var inStage = await IdsAsync(table, workspaceId, ContactKeys.StageRange(stage), cancellationToken).ConfigureAwait(false);
            matched = matched is null ? inStage : [.. matched.Intersect(inStage)];
        }

        // Ids encode their creation time: a contact created after the start is not in the frozen list.
        bool Before(string id) => CampaignKeys.CreatedAtOf(id, ContactKeys.IdPrefix) <= startedAt;
        var result = new Dictionary<string, ContactEntity?>(StringComparer.Ordinal);
        var wanted = new HashSet<string>((matched ?? []).Where(Before), StringComparer.Ordinal);
        var listed = audience.ContactIds.Where(id => ContactKeys.IsId(id) && Before(id) && !wanted.Contains(id)).Distinct(StringComparer.Ordinal).ToList();

        if (wanted.Count + listed.Count > PointReadLimit)
        {
            var all = new HashSet<string>(wanted.Concat(listed), StringComparer.Ordinal);
            await foreach (var row in table.QueryAsync<ContactEntity>(TableKeys.PrefixFilter(workspaceId, ContactKeys.ContactPrefix), maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (all.Contains(row.Id))
                {
                    result[row.Id] = row;
                }
            }

            // An indexed contact deleted since is not in the audience.
        }
        else
        {
            var found = new ConcurrentDictionary<string, ContactEntity?>(StringComparer.Ordinal);
            await Parallel.ForEachAsync(wanted.Concat(listed), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (id, ct) =>
                found[id] = await contacts.FindByIdAsync(workspaceId, id, ct).ConfigureAwait(false)).ConfigureAwait(false);
            foreach (var (id, contact) in found)
            {
                if (contact is not null || listed.Contains(id))
                {
                    result[contact?.Id ?? id] = contact;
                }
            }
        }

        // A listed id with no contact is reported as such; a merged one is sent to the contact it became (once).
        foreach (var id in listed.Where(id => !result.ContainsKey(id) && !result.Values.Any(c => c is not null && c.Id == id)))
        {
            result[id] = null;
        }

        return result;
    }

    private static async Task<HashSet<string>> IdsAsync(TableClient table, string workspaceId, string prefix, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(TableKeys.PrefixFilter(workspaceId, prefix), maxPerPage: 1000, select: KeysOnly, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            ids.Add(ContactKeys.IdOf(row.RowKey));
        }

        return ids;
    }
}
