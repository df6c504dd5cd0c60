using System.Diagnostics;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure;
using Azure.Data.Tables;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>The one optimistic-retry loop's policy, against a real table: what it retries, how often, and how it gives up.</summary>
public sealed class OptimisticRetryTests : IAsyncLifetime
{
    private const string GaveUp = "gave up";
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        _table = new TableServiceClient(Azurite.ConnectionString).GetTableClient("retry" + Guid.NewGuid().ToString("N")[..12]);
        await _table.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync() => await _table.DeleteAsync();

    [Fact]
    public async Task Twenty_writers_at_once_on_one_row_each_land_once_after_conflicts()
    {
        await _table.AddEntityAsync(new TableEntity("p", "counter") { ["Count"] = 0 });
        var attempts = 0;

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => OptimisticRetry.RunAsync<string>(async _ =>
        {
            Interlocked.Increment(ref attempts);
            var row = (await _table.GetEntityAsync<TableEntity>("p", "counter")).Value;
            row["Count"] = row.GetInt32("Count")!.Value + 1;
            await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
            return "written";
        }, gaveUp: () => GaveUp)));

        Assert.All(results, r => Assert.Equal("written", r));
        Assert.Equal(20, (await _table.GetEntityAsync<TableEntity>("p", "counter")).Value.GetInt32("Count"));
        Assert.True(attempts > 20, "Twenty writers racing on one row should have met at least one conflict.");
    }

    [Fact]
    public async Task A_row_that_changes_under_every_attempt_gives_up_after_30_attempts_with_the_give_up_outcome()
    {
        await _table.AddEntityAsync(new TableEntity("p", "hot") { ["Value"] = "first" });
        var attempts = 0;

        var result = await OptimisticRetry.RunAsync<string>(async _ =>
        {
            attempts++;
            var row = (await _table.GetEntityAsync<TableEntity>("p", "hot")).Value;
            await RivalWritesAsync("hot");
            row["Value"] = "mine";
            await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
            return "written";
        }, gaveUp: () => GaveUp);

        Assert.Equal(GaveUp, result);
        Assert.Equal(RetryBound.Default.MaxAttempts, attempts);
        Assert.Equal(30, attempts);
        Assert.StartsWith("rival", (await _table.GetEntityAsync<TableEntity>("p", "hot")).Value.GetString("Value"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_caller_bound_of_three_attempts_gives_up_after_the_third()
    {
        await _table.AddEntityAsync(new TableEntity("p", "hot") { ["Value"] = "first" });
        var attempts = 0;

        var result = await OptimisticRetry.RunAsync<string>(async _ =>
        {
            attempts++;
            var row = (await _table.GetEntityAsync<TableEntity>("p", "hot")).Value;
            await RivalWritesAsync("hot");
            await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
            return "written";
        }, gaveUp: () => GaveUp, RetryBound.Attempts(3));

        Assert.Equal((GaveUp, 3), (result, attempts));
    }

    [Fact]
    public async Task A_time_bound_gives_up_once_its_time_has_passed()
    {
        await _table.AddEntityAsync(new TableEntity("p", "hot") { ["Value"] = "first" });
        var clock = Stopwatch.StartNew();

        var result = await OptimisticRetry.RunAsync<string>(async _ =>
        {
            var row = (await _table.GetEntityAsync<TableEntity>("p", "hot")).Value;
            await RivalWritesAsync("hot");
            await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
            return "written";
        }, gaveUp: () => GaveUp, RetryBound.Time(TimeSpan.FromMilliseconds(300)));

        Assert.Equal(GaveUp, result);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Each_attempt_reads_the_row_afresh_and_writes_on_top_of_the_change_that_beat_it()
    {
        await _table.AddEntityAsync(new TableEntity("p", "list") { ["Items"] = "a" });
        var seen = new List<string>();

        var result = await OptimisticRetry.RunAsync<string>(async attempt =>
        {
            var row = (await _table.GetEntityAsync<TableEntity>("p", "list")).Value;
            seen.Add(row.GetString("Items"));
            if (attempt.IsFirst)
            {
                // Another writer lands between this attempt's read and its write.
                var rival = (await _table.GetEntityAsync<TableEntity>("p", "list")).Value;
                rival["Items"] = rival.GetString("Items") + ",b";
                await _table.UpdateEntityAsync(rival, rival.ETag, TableUpdateMode.Replace);
            }

            row["Items"] = row.GetString("Items") + ",c";
            await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
            return row.GetString("Items");
        }, gaveUp: () => GaveUp);

        Assert.Equal(["a", "a,b"], seen);
        Assert.Equal("a,b,c", result);
        Assert.Equal("a,b,c", (await _table.GetEntityAsync<TableEntity>("p", "list")).Value.GetString("Items"));
    }

    [Fact]
    public async Task A_transaction_that_meets_an_existing_row_is_retried_and_decides_again()
    {
        var attempts = 0;

        var result = await OptimisticRetry.RunAsync<string>(async attempt =>
        {
            attempts++;
            var taken = await _table.GetEntityIfExistsAsync<TableEntity>("p", "name");
            if (taken.HasValue)
            {
                return "taken by " + taken.Value!.GetString("Owner");
            }

            // A racing writer takes the name between the read and the transaction: the add fails with 409.
            await _table.AddEntityAsync(new TableEntity("p", "name") { ["Owner"] = "rival" });
            await TableBatch.SubmitAsync(_table, [new(TableTransactionActionType.Add, new TableEntity("p", "name") { ["Owner"] = "me" }), new(TableTransactionActionType.Add, new TableEntity("p", "other"))]);
            return "mine";
        }, gaveUp: () => GaveUp);

        Assert.Equal(("taken by rival", 2), (result, attempts));
        Assert.False((await _table.GetEntityIfExistsAsync<TableEntity>("p", "other")).HasValue);
    }

    [Fact]
    public async Task A_row_that_vanished_before_the_write_is_read_again_and_found_gone()
    {
        await _table.AddEntityAsync(new TableEntity("p", "doomed") { ["Value"] = "x" });

        var result = await OptimisticRetry.RunAsync<string>(async _ =>
        {
            var found = await _table.GetEntityIfExistsAsync<TableEntity>("p", "doomed");
            if (!found.HasValue)
            {
                return "gone";
            }

            await _table.DeleteEntityAsync("p", "doomed");
            await _table.UpdateEntityAsync(found.Value!, found.Value!.ETag, TableUpdateMode.Replace);
            return "written";
        }, gaveUp: () => GaveUp);

        Assert.Equal("gone", result);
    }

    [Fact]
    public async Task An_attempt_that_finds_a_conflict_by_reading_goes_again_and_gives_up_the_same_way()
    {
        var attempts = 0;

        var result = await OptimisticRetry.RunAsync<string>(attempt =>
        {
            attempts++;
            return Task.FromResult(attempt.Number < 2 ? attempt.Again() : "settled on attempt " + attempt.Number);
        }, gaveUp: () => GaveUp);
        var never = await OptimisticRetry.RunAsync<string>(attempt => Task.FromResult(attempt.Again()), gaveUp: () => GaveUp, RetryBound.Attempts(4));

        Assert.Equal(("settled on attempt 2", 3), (result, attempts));
        Assert.Equal(GaveUp, never);
    }

    [Fact]
    public async Task A_failure_that_is_not_a_conflict_ends_the_loop_at_once()
    {
        var attempts = 0;

        var thrown = await Assert.ThrowsAsync<RequestFailedException>(() => OptimisticRetry.RunAsync<string>(async _ =>
        {
            attempts++;
            await _table.AddEntityAsync(new TableEntity("p", "bad/key"));
            return "written";
        }, gaveUp: () => GaveUp));

        Assert.Equal(400, thrown.Status);
        Assert.Equal(1, attempts);
    }

    [Fact]
    public void The_first_two_retries_go_at_once_and_later_ones_wait_a_short_growing_jittered_time()
    {
        Assert.Equal(TimeSpan.Zero, OptimisticRetry.BackOff(1));
        Assert.Equal(TimeSpan.Zero, OptimisticRetry.BackOff(2));
        var third = Enumerable.Range(0, 200).Select(_ => OptimisticRetry.BackOff(3)).ToList();
        var late = Enumerable.Range(0, 200).Select(_ => OptimisticRetry.BackOff(29)).ToList();

        Assert.All(third, w => Assert.InRange(w, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(19)));
        Assert.All(late, w => Assert.InRange(w, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(190)));
        Assert.True(third.Distinct().Count() > 1, "The wait is jittered.");
    }

    private async Task RivalWritesAsync(string rowKey)
    {
        var row = (await _table.GetEntityAsync<TableEntity>("p", rowKey)).Value;
        row["Value"] = "rival " + Guid.NewGuid().ToString("N");
        await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
    }
}
