using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure;
using Azure.Data.Tables;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>The one outbox writer: an event goes in the transaction of the change it reports, and reads back typed.</summary>
public sealed class OutboxEventTests : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 1, 2, 3, TimeSpan.Zero);
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        _table = new TableServiceClient(Azurite.ConnectionString).GetTableClient("outbox" + Guid.NewGuid().ToString("N")[..12]);
        await _table.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync() => await _table.DeleteAsync();

    [Fact]
    public async Task An_event_added_to_a_transaction_lands_with_the_change_and_reads_back_typed()
    {
        var transaction = new List<TableTransactionAction> { new(TableTransactionActionType.Add, new TableEntity("ws1", "c_1")) };
        OutboxEvent.Create("ws1", "o_cause1", "thing.created", new { id = "c_1", display_name = "Ada" }, At).AddTo(transaction);

        await TableBatch.SubmitAsync(_table, transaction);

        var stored = await _table.QueryAsync<TableEntity>(OutboxEvent.Filter("ws1")).ToListAsync();
        var evt = OutboxEvent.From(Assert.Single(stored));
        Assert.Equal(("ws1", "o_cause1", "thing.created", At), (evt.PartitionKey, evt.RowKey, evt.Name, evt.CreatedAt));
        Assert.Equal("""{"id":"c_1","display_name":"Ada"}""", evt.Data);
        Assert.True((await _table.GetEntityIfExistsAsync<TableEntity>("ws1", "c_1")).HasValue);
    }

    [Fact]
    public async Task A_second_event_for_the_same_cause_fails_its_whole_transaction()
    {
        var first = new List<TableTransactionAction>();
        OutboxEvent.Create("ws1", "o_wamid_sent", "message.sent", new { status = "sent" }, At).AddTo(first);
        await TableBatch.SubmitAsync(_table, first);

        var again = new List<TableTransactionAction> { new(TableTransactionActionType.Add, new TableEntity("ws1", "m_1")) };
        OutboxEvent.Create("ws1", "o_wamid_sent", "message.sent", new { status = "sent" }, At.AddSeconds(1)).AddTo(again);
        var refused = await Assert.ThrowsAsync<TableTransactionFailedException>(() => TableBatch.SubmitAsync(_table, again));

        Assert.Equal(409, refused.Status);
        Assert.False((await _table.GetEntityIfExistsAsync<TableEntity>("ws1", "m_1")).HasValue);
        Assert.Equal(At, OutboxEvent.From(Assert.Single(await _table.QueryAsync<TableEntity>(OutboxEvent.Filter("ws1")).ToListAsync())).CreatedAt);
    }

    [Fact]
    public void Data_already_written_as_json_is_stored_as_it_is()
    {
        var evt = OutboxEvent.CreateWithJson("ws1", "o_in", "message.incoming", """{"text":"cut"}""", At);

        Assert.Equal("""{"text":"cut"}""", evt.Data);
    }

    [Theory]
    [InlineData("c_1")]
    [InlineData("o_")]
    [InlineData("")]
    public void A_row_key_that_does_not_name_a_cause_in_the_outbox_is_refused(string rowKey)
    {
        Assert.Throws<ArgumentException>(() => OutboxEvent.Create("ws1", rowKey, "thing.created", new { }, At));
    }
}
