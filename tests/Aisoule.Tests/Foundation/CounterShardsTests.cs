using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>Sharded counters: one process's writers get shards of their own, copies save reads, and a count stays exact.</summary>
public sealed class CounterShardsTests : IAsyncLifetime
{
    private const string Counter = "m_total|";

    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        _table = new TableServiceClient(Azurite.ConnectionString).GetTableClient("shards" + Guid.NewGuid().ToString("N")[..12]);
        await _table.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync() => await _table.DeleteAsync();

    [Fact]
    public void Writers_of_one_scope_in_one_process_hold_distinct_shards_until_every_shard_is_held()
    {
        var shards = new CounterShards(32);
        var leases = Enumerable.Range(0, 32).Select(_ => shards.Take("ws1")).ToList();

        Assert.Equal(32, leases.Select(l => l.Shard).Distinct().Count());

        // Past every shard, a writer shares one (the ETag keeps it exact); another scope is not affected.
        using var extra = shards.Take("ws1");
        using var other = shards.Take("ws2");
        Assert.InRange(extra.Shard, 0, 31);

        // A shard given back is the one the next writer gets.
        var freed = leases[7].Shard;
        leases[7].Dispose();
        leases[7].Dispose();
        using var next = shards.Take("ws1");
        Assert.Equal(freed, next.Shard);
        leases.ForEach(l => l.Dispose());
    }

    [Fact]
    public async Task Concurrent_moves_on_their_own_shards_all_commit_at_the_first_try_and_the_sum_is_exact()
    {
        var shards = new CounterShards(32);
        var failures = 0;

        await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
        {
            await Task.Yield();
            using var lease = shards.Take("p");
            var moves = await shards.MoveAsync(_table, "p", lease.Shard, [new(Counter, 1), new("m_t_vip|", 2), new("m_s_lead|", 0)]);
            try
            {
                var answer = await TableBatch.SubmitAsync(_table, [new(TableTransactionActionType.Add, new TableEntity("p", "c_" + i)), .. moves.Actions]);
                shards.Remember(moves, answer.Value, 1);
            }
            catch (TableTransactionFailedException)
            {
                Interlocked.Increment(ref failures);
            }
        }));

        Assert.Equal(0, failures);
        Assert.Equal(32, await CounterShards.SumAsync(_table, "p", Counter));
        Assert.Equal(64, await CounterShards.SumAsync(_table, "p", "m_t_vip|"));
        Assert.Equal(0, await CounterShards.SumAsync(_table, "p", "m_s_lead|"));
    }

    [Fact]
    public async Task A_shard_this_process_wrote_is_moved_without_reading_and_a_stale_copy_fails_the_write_and_is_then_read()
    {
        var shards = new CounterShards(1);
        await CommitAsync(shards, 5);
        await CommitAsync(shards, 5);

        // The copy is this process's last write: the next move needs no read and is an update under that ETag.
        var fromCopy = await shards.MoveAsync(_table, "p", 0, [new(Counter, 1)]);
        Assert.Equal(TableTransactionActionType.UpdateReplace, fromCopy.Actions[0].ActionType);
        Assert.Equal(11L, ((TableEntity)fromCopy.Actions[0].Entity).GetInt64(CounterShards.CountProperty));

        // Another process moves the row meanwhile: the copy's ETag no longer matches and nothing is written.
        var row = (await _table.GetEntityAsync<TableEntity>("p", CounterShards.Key(Counter, 0))).Value;
        row[CounterShards.CountProperty] = 100L;
        await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
        var stale = await Assert.ThrowsAsync<TableTransactionFailedException>(() => TableBatch.SubmitAsync(_table, [.. fromCopy.Actions]));
        Assert.Equal(412, stale.Status);

        // The copy was taken by that write, so the next attempt reads the row.
        await CommitAsync(shards, 1);
        Assert.Equal(101, await CounterShards.SumAsync(_table, "p", Counter));
    }

    [Fact]
    public async Task A_sum_reads_only_its_own_counters_shards()
    {
        var shards = new CounterShards(4);
        for (var shard = 0; shard < 4; shard++)
        {
            var moves = await shards.MoveAsync(_table, "p", shard, [new("m_t_vip|", 1), new("m_t_vip2|", 10), new("m_t_vi|", 100)]);
            await TableBatch.SubmitAsync(_table, [.. moves.Actions]);
        }

        await _table.AddEntityAsync(new TableEntity("q", CounterShards.Key("m_t_vip|", 0)) { [CounterShards.CountProperty] = 1000L });

        Assert.Equal(4, await CounterShards.SumAsync(_table, "p", "m_t_vip|"));
        Assert.Equal(40, await CounterShards.SumAsync(_table, "p", "m_t_vip2|"));
        Assert.Equal(400, await CounterShards.SumAsync(_table, "p", "m_t_vi|"));
        Assert.Equal(0, await CounterShards.SumAsync(_table, "p", "m_t_none|"));
    }

    private async Task CommitAsync(CounterShards shards, long delta)
    {
        var moves = await shards.MoveAsync(_table, "p", 0, [new(Counter, delta)]);
        var answer = await TableBatch.SubmitAsync(_table, [.. moves.Actions]);
        shards.Remember(moves, answer.Value, 0);
    }
}
