using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>The one prefix range every lister uses, from its start or resumed after a page's last key.</summary>
public sealed class TableKeysTests : IAsyncLifetime
{
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        _table = new TableServiceClient(Azurite.ConnectionString).GetTableClient("keys" + Guid.NewGuid().ToString("N")[..12]);
        await _table.CreateIfNotExistsAsync();
        foreach (var key in new[] { "b_", "b_1", "b_2", "b_3", "b`", "c_1", "a_9" })
        {
            await _table.AddEntityAsync(new TableEntity("p", key));
        }

        await _table.AddEntityAsync(new TableEntity("q", "b_1"));
    }

    public async Task DisposeAsync() => await _table.DeleteAsync();

    [Fact]
    public async Task A_prefix_range_holds_exactly_the_partitions_keys_that_start_with_the_prefix()
    {
        Assert.Equal(["b_", "b_1", "b_2", "b_3"], await KeysAsync(TableKeys.PrefixFilter("p", "b_")));
    }

    [Fact]
    public async Task A_prefix_range_resumed_after_a_key_holds_only_the_keys_after_it_and_still_ends_at_the_prefix()
    {
        Assert.Equal(["b_2", "b_3"], await KeysAsync(TableKeys.PrefixFilter("p", "b_", after: "b_1")));
        Assert.Empty(await KeysAsync(TableKeys.PrefixFilter("p", "b_", after: "b_3")));
    }

    [Fact]
    public async Task A_prefix_range_resumed_after_a_key_before_the_prefix_starts_at_the_prefix()
    {
        Assert.Equal(["b_", "b_1", "b_2", "b_3"], await KeysAsync(TableKeys.PrefixFilter("p", "b_", after: "a_9")));
    }

    private async Task<List<string>> KeysAsync(string filter) =>
        [.. (await _table.QueryAsync<TableEntity>(filter).ToListAsync()).Select(e => e.RowKey)];
}
