using System.Net;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>StoredSize measures as Table Storage does, TableBatch refuses what storage would, and a storage 400 is a 400.</summary>
public sealed class StoredSizeTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync("sizes");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData(StoredSize.MaxKeyChars, true)]
    [InlineData(StoredSize.MaxKeyChars + 1, false)]
    public async Task Row_key_limit_is_the_one_storage_applies(int length, bool fits)
    {
        var entity = new TableEntity("p", new string('k', length));

        Assert.Equal(fits, StoredSize.Oversize(entity) is null);
        Assert.Equal(fits, await StorageAcceptsAsync(entity));
    }

    [Theory]
    [InlineData("x", StoredSize.MaxStringChars, true)]
    [InlineData("x", StoredSize.MaxStringChars + 1, false)]
    [InlineData("\U0001F600", StoredSize.MaxStringChars / 2, true)]
    [InlineData("\U0001F600", (StoredSize.MaxStringChars / 2) + 1, false)]
    public async Task String_property_limit_counts_utf16_code_units_as_storage_does(string unit, int count, bool fits)
    {
        var entity = new TableEntity("p", Guid.NewGuid().ToString("N")) { ["Text"] = string.Concat(Enumerable.Repeat(unit, count)) };

        Assert.Equal(fits ? null : "Text", StoredSize.Oversize(entity));
        Assert.Equal(fits, await StorageAcceptsAsync(entity));
    }

    [Fact]
    public async Task Transaction_holding_an_entity_storage_would_refuse_is_stopped_before_it_is_sent()
    {
        TableTransactionAction[] actions =
        [
            new(TableTransactionActionType.Add, new TableEntity("p", "fine")),
            new(TableTransactionActionType.Add, new TableEntity("p", "big") { ["Text"] = new string('x', StoredSize.MaxStringChars + 1) }),
        ];

        var refused = await Assert.ThrowsAsync<StoredSizeExceededException>(() => TableBatch.SubmitAsync(_table, actions));

        Assert.Equal((1, "Text"), (refused.ActionIndex, refused.Part));
        Assert.Empty(await _table.QueryAsync<TableEntity>().ToListAsync());
    }

    [Theory]
    [InlineData("storage")]
    [InlineData("batch")]
    public async Task A_value_storage_refuses_is_a_400_envelope_not_a_500(string via)
    {
        var error = await Envelope.ErrorAsync(await _host.Client.PostAsync("probe/oversize?via=" + via, null), HttpStatusCode.BadRequest, "value_not_storable");

        Assert.DoesNotContain("PropertyValueTooLarge", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private async Task<bool> StorageAcceptsAsync(TableEntity entity)
    {
        try
        {
            await _table.AddEntityAsync(entity);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 400)
        {
            return false;
        }
    }
}
