using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>
/// The guard under a read ahead of admission (issue 19): work run read-only may read, and may be the first to use a
/// table (creating it is not its write), but any write it tries is refused before it leaves the process. Tables go
/// through <see cref="LossyTableProxy"/>, which records what reached storage.
/// </summary>
public sealed class ReadOnlyStorageTests : IAsyncLifetime
{
    private LossyTableProxy _proxy = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _proxy = await LossyTableProxy.StartAsync();
        _host = await TestHost.StartAsync(connectionString: _proxy.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _proxy.DisposeAsync();
    }

    [Fact]
    public async Task Read_only_work_reads_and_creates_a_table_on_first_use_but_no_write_of_its_own_reaches_storage()
    {
        var storage = _host.Services.GetRequiredService<StorageAccount>();
        var attempt = new ReadOnlyStorage.Attempt();

        var refused = await ReadOnlyStorage.RunAsync(attempt, async () =>
        {
            var table = await storage.GetTableAsync("readonly");
            Assert.False((await table.GetEntityIfExistsAsync<TableEntity>("p", "r")).HasValue);
            return await Record.ExceptionAsync(() => table.AddEntityAsync(new TableEntity("p", "r")));
        });

        Assert.IsType<ReadOnlyStorageException>(refused);
        Assert.True(attempt.TriedToWrite);
        Assert.Contains(_proxy.Requests, r => r.Method == "POST" && r.Path.EndsWith("/Tables", StringComparison.Ordinal));
        Assert.DoesNotContain(_proxy.Requests, r => r.Method == "POST" && r.Path.EndsWith("readonly", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Read_only_work_may_peek_at_a_queue_but_not_receive_from_it()
    {
        var queue = await _host.Services.GetRequiredService<StorageAccount>().GetQueueAsync("readonly");
        await queue.SendMessageAsync("hello");
        var attempt = new ReadOnlyStorage.Attempt();

        var (peeked, refused) = await ReadOnlyStorage.RunAsync(attempt, async () =>
            ((await queue.PeekMessagesAsync(1)).Value.Length, await Record.ExceptionAsync(() => queue.ReceiveMessagesAsync(1))));

        Assert.Equal(1, peeked);
        Assert.IsType<ReadOnlyStorageException>(refused);
        Assert.True(attempt.TriedToWrite);
        Assert.Single((await queue.ReceiveMessagesAsync(1)).Value);
    }

    [Fact]
    public async Task Work_after_the_read_only_work_writes_as_usual()
    {
        var storage = _host.Services.GetRequiredService<StorageAccount>();
        var table = await storage.GetTableAsync("readonly");

        await ReadOnlyStorage.RunAsync(new ReadOnlyStorage.Attempt(), async () => (await table.GetEntityIfExistsAsync<TableEntity>("p", "r")).HasValue);
        await table.AddEntityAsync(new TableEntity("p", "r"));

        Assert.True((await table.GetEntityIfExistsAsync<TableEntity>("p", "r")).HasValue);
    }
}
