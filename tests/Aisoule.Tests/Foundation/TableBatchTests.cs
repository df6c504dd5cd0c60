using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Foundation;

public sealed class TableBatchTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync("batch");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Batch_spanning_two_partitions_is_refused_before_reaching_storage()
    {
        // Azurite would accept this batch; Azure would not. Our code must refuse it on both.
        TableTransactionAction[] actions =
        [
            new(TableTransactionActionType.Add, new TableEntity("ws1", "a")),
            new(TableTransactionActionType.Add, new TableEntity("ws2", "b")),
        ];

        await Assert.ThrowsAsync<ArgumentException>(() => TableBatch.SubmitAsync(_table, actions));

        Assert.Empty(await _table.QueryAsync<TableEntity>().ToListAsync());
    }

    [Fact]
    public async Task Batch_of_more_than_100_actions_is_refused()
    {
        var actions = Enumerable.Range(0, 101)
            .Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("ws1", $"r{i:D3}")))
            .ToList();

        await Assert.ThrowsAsync<ArgumentException>(() => TableBatch.SubmitAsync(_table, actions));
    }

    [Fact]
    public async Task Batch_of_100_actions_in_one_partition_commits_together()
    {
        var actions = Enumerable.Range(0, 100)
            .Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("ws1", $"r{i:D3}")))
            .ToList();

        await TableBatch.SubmitAsync(_table, actions);

        Assert.Equal(100, (await _table.QueryAsync<TableEntity>(e => e.PartitionKey == "ws1").ToListAsync()).Count);
    }
}
