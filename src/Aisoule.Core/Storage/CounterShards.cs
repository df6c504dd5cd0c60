using System.Collections.Concurrent;
using System.Globalization;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Storage;

/// <summary>
/// Exact counters without a hot row. A counter's value is the sum of its shard rows, <c>{counter}00</c> up to
/// <c>{counter}{Shards − 1}</c> in its partition: a write moves one shard (under its ETag, inside the writer's own
/// transaction) and a read sums them with one range query of at most <see cref="Shards"/> rows.
/// <list type="bullet">
/// <item>The shard a write moves is chosen per write by <see cref="Take"/>: one that no other writer of the same scope
/// in this process holds while one is free, looked for from this process's home shard (random, so processes spread;
/// moved at random when a write meets another process on a shard, <see cref="Lease.Failed"/>), so that a process keeps
/// writing the shards it has copies of. Two writers meet on a row only across processes, or past <see cref="Shards"/> concurrent writes of one scope in one process:
/// a conflict retry is the exception.</item>
/// <item>A shard as this process last wrote it (its count and ETag) is remembered, so the next write of it needs no
/// read. A write takes the copy out (and puts it back when its transaction failed before the counters, <see cref="Lease.Failed"/>);
/// if another process moved the row since, the ETag fails the transaction and the writer's next attempt reads it.</item>
/// </list>
/// One instance serves one table; the ETags keep every count exact, the choice and the copies only save work.
/// </summary>
public sealed class CounterShards
{
    /// <summary>
    /// Shards per contacts counter: a queue-triggered batch (32 in <c>host.json</c>) or 32 concurrent requests of one
    /// workspace in one process each get a shard of their own, and a read still sums one short range.
    /// </summary>
    public const int ContactsDefault = 32;

    public const string CountProperty = "Count";

    /// <summary>At most this many shards are remembered (a few bytes each); past it, shards are read.</summary>
    private const int MaxKnown = 20_000;

    private static readonly string[] CountOnly = [CountProperty];

    // Per scope, how many writers of this process hold each shard; the entry goes when none does.
    private readonly ConcurrentDictionary<string, int[]> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Partition, string RowKey), (long Count, ETag ETag)> _known = new();

    // Where this instance starts looking for a free shard: its own, so that its copies are used, and moved at random
    // when a write meets another instance's (two instances that started at the same place stop meeting).
    private int _home;

    public CounterShards(int shards)
    {
        Shards = shards is > 0 and <= 100 ? shards : throw new ArgumentOutOfRangeException(nameof(shards));
        _home = Random.Shared.Next(Shards);
    }

    public int Shards { get; }

    /// <summary>
    /// The row of one shard of <paramref name="counter"/>: the counter's name is a prefix that no other row key of the
    /// partition starts with (it ends in a separator), and the shard's two digits follow it.
    /// </summary>
    public static string Key(string counter, int shard) => counter + shard.ToString("d2", CultureInfo.InvariantCulture);

    /// <summary>The counter's exact value: its shards summed, one range query.</summary>
    public static async Task<long> SumAsync(TableClient table, string partition, string counter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        long sum = 0;
        await foreach (var row in table.QueryAsync<TableEntity>(TableKeys.PrefixFilter(partition, counter), maxPerPage: 1000, select: CountOnly, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            sum += row.GetInt64(CountProperty) ?? 0;
        }

        return sum;
    }

    /// <summary>
    /// Submits <paramref name="actions"/> and the moves of <paramref name="deltas"/> as one transaction in
    /// <paramref name="partition"/>: takes a shard for it (<see cref="Take"/>), moves that shard of each counter
    /// (<see cref="MoveAsync"/>), remembers what it wrote (<see cref="Remember"/>), and when the transaction fails tells
    /// the lease why (<see cref="Lease.Failed"/>) and rethrows, for the caller's retry. The answer's first
    /// <c>actions.Count</c> entries are the caller's actions'.
    /// </summary>
    public async Task<Response<IReadOnlyList<Response>>> SubmitAsync(TableClient table, string partition, IReadOnlyList<TableTransactionAction> actions, IEnumerable<KeyValuePair<string, long>> deltas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actions);
        using var lease = Take(partition);
        var moves = await MoveAsync(table, partition, lease.Shard, deltas, cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await TableBatch.SubmitAsync(table, [.. actions, .. moves.Actions], cancellationToken).ConfigureAwait(false);
            Remember(moves, response.Value, actions.Count);
            return response;
        }
        catch (TableTransactionFailedException ex)
        {
            lease.Failed(ex, moves, actions.Count);
            throw;
        }
    }

    /// <summary>
    /// A shard for one write in <paramref name="scope"/> (a partition): the one least held by this process's other
    /// writers, looking from this process's home shard. Dispose it when the write is done, whatever its outcome.
    /// </summary>
    public Lease Take(string scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        while (true)
        {
            var held = _held.GetOrAdd(scope, _ => new int[Shards]);
            lock (held)
            {
                // Emptied and dropped by a release meanwhile: take the scope's current one instead.
                if (!_held.TryGetValue(scope, out var current) || !ReferenceEquals(current, held))
                {
                    continue;
                }

                var start = Volatile.Read(ref _home);
                var best = start;
                for (var i = 1; i < Shards && held[best] > 0; i++)
                {
                    var shard = (start + i) % Shards;
                    if (held[shard] < held[best])
                    {
                        best = shard;
                    }
                }

                held[best]++;
                return new Lease(this, scope, held, best);
            }
        }
    }

    /// <summary>
    /// The actions that add each delta to the <paramref name="shard"/> row of its counter in <paramref name="partition"/>:
    /// an update under the ETag this process last wrote it with, or as just read, or the row's first insert. Zero deltas
    /// move nothing. Submit them in the writer's transaction, then hand its answer to <see cref="Remember"/>.
    /// </summary>
    public async Task<CounterMoves> MoveAsync(TableClient table, string partition, int shard, IEnumerable<KeyValuePair<string, long>> deltas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(deltas);
        var rows = deltas.Where(d => d.Value != 0).Select(d => (Key: Key(d.Key, shard), Delta: d.Value)).ToList();
        var known = rows.Select(r => _known.TryRemove((partition, r.Key), out var k) ? k : ((long Count, ETag ETag)?)null).ToList();
        var read = await Task.WhenAll(rows.Select((r, i) => known[i] is null
            ? table.GetEntityIfExistsAsync<TableEntity>(partition, r.Key, CountOnly, cancellationToken)
            : Task.FromResult<NullableResponse<TableEntity>?>(null))).ConfigureAwait(false);

        var moves = new CounterMoves(partition);
        for (var i = 0; i < rows.Count; i++)
        {
            var (key, delta) = rows[i];
            var (before, etag) = known[i] ?? (read[i] is { HasValue: true } row ? (row.Value!.GetInt64(CountProperty) ?? 0, row.Value!.ETag) : (0, default));
            var entity = new TableEntity(partition, key) { [CountProperty] = before + delta };
            moves.Add(etag == default ? new(TableTransactionActionType.Add, entity) : new(TableTransactionActionType.UpdateReplace, entity, etag), before + delta, etag == default ? null : (before, etag));
        }

        return moves;
    }

    /// <summary>
    /// Remembers the shards <paramref name="moves"/> wrote, from the answer to the transaction that committed them
    /// (<paramref name="firstIndex"/>: where its actions began in that transaction).
    /// </summary>
    public void Remember(CounterMoves moves, IReadOnlyList<Response> answers, int firstIndex)
    {
        ArgumentNullException.ThrowIfNull(moves);
        ArgumentNullException.ThrowIfNull(answers);
        for (var i = 0; i < moves.Actions.Count && firstIndex + i < answers.Count; i++)
        {
            if (answers[firstIndex + i].Headers.ETag is { } etag && etag != default && _known.Count < MaxKnown)
            {
                _known[(moves.Partition, moves.Actions[i].Entity.RowKey)] = (moves.Counts[i], etag);
            }
        }
    }

    // The transaction failed on an action before the counters' (a taken phone, a row changed meanwhile): it moved
    // nothing, so the shards are as the moves found them; keep those copies (unless a newer one is already kept).
    private void Keep(CounterMoves moves)
    {
        for (var i = 0; i < moves.Actions.Count; i++)
        {
            if (moves.Copies[i] is { } copy && _known.Count < MaxKnown)
            {
                _known.TryAdd((moves.Partition, moves.Actions[i].Entity.RowKey), copy);
            }
        }
    }

    private void Release(string scope, int[] held, int shard)
    {
        lock (held)
        {
            held[shard]--;
            if (Array.TrueForAll(held, c => c == 0))
            {
                _held.TryRemove(new KeyValuePair<string, int[]>(scope, held));
            }
        }
    }

    /// <summary>One write's hold on a shard; disposing gives it back (once).</summary>
    public sealed class Lease : IDisposable
    {
        private readonly CounterShards _owner;
        private readonly string _scope;
        private readonly int[] _held;
        private int _released;

        internal Lease(CounterShards owner, string scope, int[] held, int shard)
        {
            _owner = owner;
            _scope = scope;
            _held = held;
            Shard = shard;
        }

        public int Shard { get; }

        /// <summary>
        /// Tells the lease why the write of <paramref name="moves"/> failed: when a counter action (at
        /// <paramref name="firstIndex"/> or after in the transaction) met another writer, this process moves its home
        /// shard, so two processes that keep meeting stop; when an action before them failed the transaction, the
        /// counter rows did not move and the copies the moves were made from are kept for the next write.
        /// </summary>
        public void Failed(Exception exception, CounterMoves moves, int firstIndex)
        {
            ArgumentNullException.ThrowIfNull(moves);
            if (exception is TableTransactionFailedException { FailedTransactionActionIndex: { } index } failed)
            {
                if (index < firstIndex)
                {
                    _owner.Keep(moves);
                }
                else if (OptimisticRetry.IsConflict(failed))
                {
                    Volatile.Write(ref _owner._home, Random.Shared.Next(_owner.Shards));
                }
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                _owner.Release(_scope, _held, Shard);
            }
        }
    }
}

/// <summary>The counter rows one write moves: its transaction actions, and the counts they write.</summary>
public sealed class CounterMoves(string partition)
{
    private readonly List<TableTransactionAction> _actions = [];
    private readonly List<long> _counts = [];
    private readonly List<(long Count, ETag ETag)?> _copies = [];

    public string Partition { get; } = partition;

    public IReadOnlyList<TableTransactionAction> Actions => _actions;

    internal IReadOnlyList<long> Counts => _counts;

    /// <summary>Each row as the move found it (its count and ETag), or null for a row it inserts.</summary>
    internal IReadOnlyList<(long Count, ETag ETag)?> Copies => _copies;

    internal void Add(TableTransactionAction action, long count, (long Count, ETag ETag)? copy)
    {
        _actions.Add(action);
        _counts.Add(count);
        _copies.Add(copy);
    }
}
