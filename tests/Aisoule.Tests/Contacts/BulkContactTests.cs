using System.Net;
using System.Text.Json;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Contacts;

public sealed class BulkContactTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private KeyClient _api = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _api = await KeyClient.ForNewWorkspaceAsync(_host);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Bulk_creates_and_updates_by_phone_and_reports_each_bad_item_by_index()
    {
        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+919833333333", name = "Old name", tags = new[] { "keep" } }), HttpStatusCode.Created);

        var result = await Envelope.SuccessAsync(await _api.PostJsonAsync("contacts/bulk", """
            {"contacts":[
              {"phone_number":"+91 98333 33333","name":"New name"},
              {"phone_number":"not a phone"},
              {"phone_number":"+919833333334","name":"Fresh","tags":["bulk"]},
              {"name":"no phone"},
              {"phone_number":"+919833333335","tags":"not-a-list"},
              "not an object",
              {"phone_number":"+919833333336","stage":"Lead"}
            ]}
            """));

        Assert.Equal(2, result.GetProperty("created").GetInt32());
        Assert.Equal(1, result.GetProperty("updated").GetInt32());
        var failed = result.GetProperty("failed").EnumerateArray().Select(f => (f.GetProperty("index").GetInt32(), f.GetProperty("code").GetString())).ToList();
        Assert.Equal([(1, "invalid_phone_number"), (3, "validation_failed"), (4, "validation_failed"), (5, "invalid_json")], failed);

        var updated = await SingleAsync("search=%2B919833333333");
        Assert.Equal("New name", updated.GetProperty("name").GetString());
        Assert.Equal(["keep"], updated.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal(3, (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Bulk_of_1000_contacts_is_stored_whole_with_exact_totals_and_events()
    {
        var items = Enumerable.Range(0, 1000).Select(i => new { phone_number = $"+1206555{i:D4}", name = $"Bulk {i}", tags = new[] { i % 2 == 0 ? "even" : "odd" } });

        var result = await Envelope.SuccessAsync(await _api.PostAsync("contacts/bulk", new { contacts = items }));

        Assert.Equal(1000, result.GetProperty("created").GetInt32());
        Assert.Empty(result.GetProperty("failed").EnumerateArray());
        Assert.Equal(1000, (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64());
        Assert.Equal(500, (await Envelope.SuccessAsync(await _api.GetAsync("contacts?tag=odd"))).GetProperty("total").GetInt64());
        Assert.Equal(1000, await CountRowsAsync("o_"));
    }

    [Fact]
    public async Task The_same_phone_twice_in_one_request_is_created_once_then_updated()
    {
        var result = await Envelope.SuccessAsync(await _api.PostAsync("contacts/bulk", new
        {
            contacts = new object[] { new { phone_number = "+919844444444", name = "First" }, new { phone_number = "919844444444", name = "Second" } },
        }));

        Assert.Equal(1, result.GetProperty("created").GetInt32());
        Assert.Equal(1, result.GetProperty("updated").GetInt32());
        Assert.Equal("Second", (await SingleAsync("search=9198444")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task More_than_1000_contacts_answers_400_and_stores_nothing()
    {
        var items = Enumerable.Range(0, 1001).Select(i => new { phone_number = $"+1207555{i:D4}" });

        await Envelope.ErrorAsync(await _api.PostAsync("contacts/bulk", new { contacts = items }), HttpStatusCode.BadRequest, "validation_failed");

        Assert.Equal(0, (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Create_and_update_record_contact_events_in_the_outbox_in_the_same_transaction()
    {
        var created = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+919855555555", name = "Evented" }), HttpStatusCode.Created);
        await Envelope.SuccessAsync(await _api.PutAsync($"contacts/{created.GetProperty("id").GetString()}", new { name = "Renamed" }));

        var table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync("contacts");
        var events = await table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey ge {"o_"} and RowKey lt {"o`"}")).ToListAsync();

        Assert.Equal(["contact.created", "contact.updated"], events.Select(e => e.GetString("Event")));
        var data = JsonDocument.Parse(events[1].GetString("Data")).RootElement;
        Assert.Equal("Renamed", data.GetProperty("name").GetString());
        Assert.Equal(created.GetProperty("id").GetString(), data.GetProperty("id").GetString());
    }

    private async Task<JsonElement> SingleAsync(string query) =>
        Assert.Single((await Envelope.SuccessAsync(await _api.GetAsync($"contacts?{query}"))).GetProperty("contacts").EnumerateArray());

    private async Task<int> CountRowsAsync(string prefix)
    {
        var table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync("contacts");
        var rows = await table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey ge {prefix} and RowKey lt {prefix[..^1] + (char)(prefix[^1] + 1)}"), select: ["RowKey"]).ToListAsync();
        return rows.Count;
    }
}
