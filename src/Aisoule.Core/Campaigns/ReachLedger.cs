using System.Globalization;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// Counts the unique recipients a business portfolio (a WABA) reaches per rolling 24 hours, against Meta's messaging
/// limit (<see cref="WhatsApp.MessagingTiers"/>). Table <see cref="CampaignNames.Reach"/>, 16 partitions per portfolio,
/// <c>{wabaId}|{d}</c> with <c>d</c> the last hex digit of the contact id, so writes spread:
/// <list type="bullet">
/// <item><c>u_{workspaceId}_{contactId}</c>: the contact's <c>LastAt</c>, when it was last counted. A contact counted
/// less than 24 hours ago is reached again without counting again.</item>
/// <item><c>h_{yyyyMMddHH}|nn</c>: hourly buckets, sharded counters (<see cref="CounterShards"/>) of the contacts
/// counted in that hour. The portfolio's count is the sum of the live buckets of its 16 partitions.</item>
/// </list>
/// An approximation, on the safe side where it can be:
/// <list type="bullet">
/// <item>Hour buckets: a count stays in the sum until its hour's end + 24 hours (<see cref="BucketLife"/> after the
/// hour starts), up to an hour longer than Meta keeps it; the portfolio is never under-counted for that.</item>
/// <item>A contact is counted once per 24 hours from when it was counted; Meta's window follows every message, so a
/// contact messaged again late in its 24 hours stays in Meta's count longer than in ours.</item>
/// <item>Only what goes through this ledger is counted: other apps on the same portfolio, and sends that are not
/// campaign sends, are invisible. Meta's own count (and its errors) remain the authority.</item>
/// </list>
/// Reservations of one portfolio run one at a time, under a lease row (<see cref="LeaseTime"/>), 500 contacts per
/// lease: a reservation sums and counts with no other in between, so concurrent reservations never exceed the cap
/// together. Only a reservation that stalls past its lease can overlap the next one; the cap can then be exceeded by
/// at most the contacts the stalled one still counts (500 at most). Buckets of past hours are not deleted (a portfolio
/// leaves at most 16 × 4 rows an hour); only the live ones are read.
/// </summary>
public sealed class ReachLedger
{
    public const int Partitions = 16;

    /// <summary>Shards per hour bucket: parallel counts in one partition rarely meet on a row.</summary>
    public const int BucketShards = 4;

    /// <summary>Meta's window: a contact counted less than this ago is not counted again.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>How long an hour bucket counts after its hour starts: its last count's 24 hours have then passed.</summary>
    public static readonly TimeSpan BucketLife = TimeSpan.FromHours(25);

    /// <summary>How long a reservation may hold its portfolio's lease before another may take it over.</summary>
    public static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(30);

    private const string UserPrefix = "u_";
    private const string BucketPrefix = "h_";
    private const string HourFormat = "yyyyMMddHH";
    private const string LastAt = "LastAt";
    private const string LeasePartition = "lease";
    private const string LeaseUntil = "Until";
    private const int Parallelism = 16;

    /// <summary>Contacts decided per lease: a chunk's reads and writes take well under <see cref="LeaseTime"/>.</summary>
    public const int DefaultChunkSize = 500;

    private readonly CounterShards _shards = new(BucketShards);
    private readonly StorageAccount _storage;
    private readonly int _chunkSize;

    public ReachLedger(StorageAccount storage)
        : this(storage, DefaultChunkSize)
    {
    }

    /// <summary>With chunks of another size (tests: several leases without thousands of contacts).</summary>
    internal ReachLedger(StorageAccount storage, int chunkSize)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _chunkSize = chunkSize > 0 ? chunkSize : throw new ArgumentOutOfRangeException(nameof(chunkSize));
    }

    /// <summary>
    /// Counts the contacts that may be sent now, in order, while the portfolio's count stays under <paramref name="cap"/>:
    /// a contact counted within 24 hours is allowed without counting; any other is counted (its <c>u_</c> row and its
    /// hour's bucket in one transaction) while <c>used + counted &lt; cap</c>, and waits otherwise. A contact listed twice
    /// is decided once. <paramref name="now"/> is the time counts are made at (the campaign's clock).
    /// </summary>
    public async Task<ReachReservation> ReserveAsync(string wabaId, string workspaceId, IReadOnlyList<string> contactIds, int cap, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(wabaId);
        ArgumentException.ThrowIfNullOrEmpty(workspaceId);
        ArgumentNullException.ThrowIfNull(contactIds);
        ArgumentOutOfRangeException.ThrowIfNegative(cap);
        var contacts = contactIds.Distinct(StringComparer.Ordinal).ToList();
        foreach (var id in contacts)
        {
            ArgumentException.ThrowIfNullOrEmpty(id, nameof(contactIds));
        }

        var table = await _storage.GetTableAsync(CampaignNames.Reach, cancellationToken).ConfigureAwait(false);
        var decided = new Decision[contacts.Count];
        var (used, oldest) = (0, (DateTimeOffset?)null);
        for (var offset = 0; offset == 0 || offset < contacts.Count; offset += _chunkSize)
        {
            (used, oldest) = await ReserveChunkAsync(table, wabaId, workspaceId, contacts, offset, decided, cap, now, cancellationToken).ConfigureAwait(false);
        }

        var allowed = contacts.Where((_, i) => decided[i] is Decision.Allowed or Decision.Counted).ToList();
        var waiting = contacts.Where((_, i) => decided[i] == Decision.Waiting).ToList();
        return new ReachReservation(allowed, waiting, used, waiting.Count > 0 && oldest is { } hour ? hour + BucketLife : null);
    }

    /// <summary>The portfolio's unique recipients counted in the rolling 24 hours before <paramref name="now"/> (the live buckets of its 16 partitions).</summary>
    public async Task<int> UsedAsync(string wabaId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(wabaId);
        var table = await _storage.GetTableAsync(CampaignNames.Reach, cancellationToken).ConfigureAwait(false);
        return (await SumAsync(table, wabaId, now, cancellationToken).ConfigureAwait(false)).Used;
    }

    /// <summary>The partition of a contact's rows: the last hex digit of its id (contact ids end in hex), else a digit of its characters' sum.</summary>
    public static string Partition(string wabaId, string contactId)
    {
        ArgumentException.ThrowIfNullOrEmpty(wabaId);
        ArgumentException.ThrowIfNullOrEmpty(contactId);
        var last = char.ToLowerInvariant(contactId[^1]);
        var digit = char.IsAsciiHexDigit(last) ? last : "0123456789abcdef"[contactId.Sum(c => (int)c) % Partitions];
        return TableKeys.Encode(wabaId) + TableKeys.Separator + digit;
    }

    /// <summary>
    /// Decides a chunk of contacts from <paramref name="offset"/> under the portfolio's lease: reads their
    /// rows and the sum, counts those that fit. The count after it, and the oldest live hour holding a count.
    /// </summary>
    private async Task<(int Used, DateTimeOffset? Oldest)> ReserveChunkAsync(TableClient table, string wabaId, string workspaceId, List<string> contacts, int offset, Decision[] decided, int cap, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var chunk = Enumerable.Range(offset, Math.Min(_chunkSize, contacts.Count - offset)).ToList();
        var lease = await LeaseAsync(table, wabaId, cancellationToken).ConfigureAwait(false);
        try
        {
            var rows = new TableEntity?[chunk.Count];
            await Parallel.ForEachAsync(chunk, Options(cancellationToken), async (i, ct) =>
                rows[i - offset] = await ReadUserAsync(table, wabaId, workspaceId, contacts[i], ct).ConfigureAwait(false)).ConfigureAwait(false);
            var (used, oldest) = await SumAsync(table, wabaId, now, cancellationToken).ConfigureAwait(false);

            var toCount = new List<int>();
            foreach (var i in chunk)
            {
                decided[i] = Counted(rows[i - offset], now) ? Decision.Allowed
                    : used + toCount.Count < cap ? Decision.ToCount
                    : Decision.Waiting;
                if (decided[i] == Decision.ToCount)
                {
                    toCount.Add(i);
                }
            }

            var counted = 0;
            await Parallel.ForEachAsync(toCount, Options(cancellationToken), async (i, ct) =>
            {
                decided[i] = await CountAsync(table, wabaId, workspaceId, contacts[i], rows[i - offset], now, ct).ConfigureAwait(false);
                if (decided[i] == Decision.Counted)
                {
                    Interlocked.Increment(ref counted);
                }
            }).ConfigureAwait(false);

            return (used + counted, counted > 0 && (oldest is null || HourOf(now) < oldest) ? HourOf(now) : oldest);
        }
        finally
        {
            await ReleaseAsync(table, wabaId, lease).ConfigureAwait(false);
        }
    }

    private static ParallelOptions Options(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken };

    private static string UserKey(string workspaceId, string contactId) => UserPrefix + TableKeys.Encode(workspaceId) + "_" + TableKeys.Encode(contactId);

    private static string BucketCounter(DateTimeOffset hour) => BucketPrefix + hour.ToString(HourFormat, CultureInfo.InvariantCulture) + TableKeys.Separator;

    private static DateTimeOffset HourOf(DateTimeOffset at) => new(at.UtcDateTime.Date.AddHours(at.UtcDateTime.Hour), TimeSpan.Zero);

    private static bool Counted(TableEntity? row, DateTimeOffset now) => row?.GetDateTimeOffset(LastAt) is { } last && last > now - Window;

    private static async Task<TableEntity?> ReadUserAsync(TableClient table, string wabaId, string workspaceId, string contactId, CancellationToken cancellationToken)
    {
        var found = await table.GetEntityIfExistsAsync<TableEntity>(Partition(wabaId, contactId), UserKey(workspaceId, contactId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? found.Value : null;
    }

    /// <summary>
    /// Counts one contact: its <c>u_</c> row (under the ETag it was read with) and its hour's bucket, one transaction.
    /// <see cref="Decision.Counted"/> once counted; <see cref="Decision.Allowed"/> if someone counted it meanwhile;
    /// <see cref="Decision.Waiting"/> if storage was too contended to count it.
    /// </summary>
    private async Task<Decision> CountAsync(TableClient table, string wabaId, string workspaceId, string contactId, TableEntity? row, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var partition = Partition(wabaId, contactId);
        var key = UserKey(workspaceId, contactId);
        return await OptimisticRetry.RunAsync(async attempt =>
        {
            var current = attempt.IsFirst ? row : await ReadUserAsync(table, wabaId, workspaceId, contactId, cancellationToken).ConfigureAwait(false);
            if (Counted(current, now))
            {
                return Decision.Allowed;
            }

            var user = new TableEntity(partition, key) { [LastAt] = now };
            TableTransactionAction action = current is null
                ? new(TableTransactionActionType.Add, user)
                : new(TableTransactionActionType.UpdateReplace, user, current.ETag);
            await _shards.SubmitAsync(table, partition, [action], [new(BucketCounter(HourOf(now)), 1)], cancellationToken).ConfigureAwait(false);
            return Decision.Counted;
        },
        gaveUp: () => Decision.Waiting,
        cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The sum of the portfolio's live buckets at <paramref name="now"/>, and the oldest live hour that holds a count.</summary>
    private static async Task<(int Used, DateTimeOffset? Oldest)> SumAsync(TableClient table, string wabaId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // A bucket is live while its hour start + BucketLife is after now.
        var first = HourOf(now - BucketLife).AddHours(1);
        var from = BucketPrefix + first.ToString(HourFormat, CultureInfo.InvariantCulture);
        var sums = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(async d =>
        {
            var partition = TableKeys.Encode(wabaId) + TableKeys.Separator + "0123456789abcdef"[d];
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {from} and RowKey lt {TableKeys.After(BucketPrefix)}");
            long sum = 0;
            DateTimeOffset? oldest = null;
            await foreach (var bucket in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey", CounterShards.CountProperty], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var count = bucket.GetInt64(CounterShards.CountProperty) ?? 0;
                if (count > 0 && DateTimeOffset.TryParseExact(bucket.RowKey.AsSpan(BucketPrefix.Length, HourFormat.Length), HourFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var hour))
                {
                    sum += count;
                    oldest = oldest is null || hour < oldest ? hour : oldest;
                }
            }

            return (Sum: sum, Oldest: oldest);
        })).ConfigureAwait(false);
        return ((int)sums.Sum(s => s.Sum), sums.Where(s => s.Oldest is not null).Min(s => s.Oldest));
    }

    /// <summary>Takes the portfolio's lease: waits while another reservation holds it, takes it over once it has run out.</summary>
    private static async Task<ETag> LeaseAsync(TableClient table, string wabaId, CancellationToken cancellationToken)
    {
        // Real time, not the campaign's clock: the lease guards against concurrent work happening now.
        var partition = TableKeys.Encode(wabaId) + TableKeys.Separator + LeasePartition;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var found = await table.GetEntityIfExistsAsync<TableEntity>(partition, "", cancellationToken: cancellationToken).ConfigureAwait(false);
            var lease = new TableEntity(partition, "") { [LeaseUntil] = DateTimeOffset.UtcNow + LeaseTime };
            try
            {
                if (!found.HasValue)
                {
                    return (await table.AddEntityAsync(lease, cancellationToken).ConfigureAwait(false)).Headers.ETag ?? ETag.All;
                }

                if (found.Value!.GetDateTimeOffset(LeaseUntil) is not { } until || until <= DateTimeOffset.UtcNow)
                {
                    return (await table.UpdateEntityAsync(lease, found.Value.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false)).Headers.ETag ?? ETag.All;
                }
            }
            catch (RequestFailedException ex) when (OptimisticRetry.IsConflict(ex))
            {
                // Another reservation took it first: wait for it as for a held lease.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gives the lease back, unless another took it over meanwhile. Not cancelled with the caller: others wait for it.</summary>
    private static async Task ReleaseAsync(TableClient table, string wabaId, ETag lease)
    {
        try
        {
            await table.DeleteEntityAsync(TableKeys.Encode(wabaId) + TableKeys.Separator + LeasePartition, "", lease, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (OptimisticRetry.IsConflict(ex))
        {
            // Taken over after it ran out: it is the new holder's now.
        }
    }

    private enum Decision
    {
        Waiting,
        Allowed,
        ToCount,
        Counted,
    }
}
