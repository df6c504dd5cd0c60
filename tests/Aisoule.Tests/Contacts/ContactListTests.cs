using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Contacts;

public sealed class ContactListTests : IAsyncLifetime
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
    public async Task List_is_newest_first_with_an_exact_total_and_pages_that_neither_overlap_nor_skip()
    {
        var ids = new List<string>();
        for (var i = 0; i < 25; i++)
        {
            ids.Add(await CreateAsync($"+1202555{i:D4}", $"Person {i}"));
        }

        var seen = new List<string>();
        for (var page = 1; page <= 3; page++)
        {
            var data = await Envelope.SuccessAsync(await _api.GetAsync($"contacts?page={page}&per_page=10"));
            Assert.Equal(25, data.GetProperty("total").GetInt64());
            Assert.Equal(page, data.GetProperty("page").GetInt32());
            Assert.Equal(10, data.GetProperty("per_page").GetInt32());
            seen.AddRange(Ids(data));
        }

        Assert.Equal(Enumerable.Reverse(ids), seen);
    }

    [Fact]
    public async Task Cursor_pages_never_overlap_while_contacts_are_being_added()
    {
        for (var i = 0; i < 12; i++)
        {
            await CreateAsync($"+1303555{i:D4}");
        }

        var first = await Envelope.SuccessAsync(await _api.GetAsync("contacts?per_page=5"));
        var seen = Ids(first).ToList();
        var cursor = first.GetProperty("next_cursor").GetString();
        await CreateAsync("+13035559990");
        await CreateAsync("+13035559991");
        while (cursor is not null)
        {
            var next = await Envelope.SuccessAsync(await _api.GetAsync($"contacts?per_page=5&cursor={cursor}"));
            seen.AddRange(Ids(next));
            cursor = next.GetProperty("next_cursor").ValueKind == JsonValueKind.Null ? null : next.GetProperty("next_cursor").GetString();
        }

        Assert.Equal(12, seen.Count);
        Assert.Equal(seen.Distinct().Count(), seen.Count);
    }

    [Fact]
    public async Task Total_stays_exact_through_bulk_deletes_and_concurrent_writers_on_two_instances()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix);
        var clients = new[] { _api, _api.On(other) };

        var created = await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
            await Envelope.SuccessAsync(await clients[i % 2].PostAsync("contacts", new { phone_number = $"+1404555{i:D4}", tags = new[] { "wave" } }), HttpStatusCode.Created)));
        await Envelope.SuccessAsync(await _api.PostAsync("contacts/bulk", new { contacts = Enumerable.Range(0, 40).Select(i => new { phone_number = $"+1405555{i:D4}", tags = new[] { "wave" } }) }));
        await Task.WhenAll(created.Take(7).Select((c, i) => clients[i % 2].DeleteAsync($"contacts/{c.GetProperty("id").GetString()}")));

        var all = await Envelope.SuccessAsync(await _api.GetAsync("contacts?per_page=100"));
        var tagged = await Envelope.SuccessAsync(await _api.GetAsync("contacts?tag=wave&per_page=100"));

        Assert.Equal(63, all.GetProperty("total").GetInt64());
        Assert.Equal(63, Ids(all).Count());
        Assert.Equal(63, tagged.GetProperty("total").GetInt64());
        Assert.Equal(63, Ids(tagged).Count());
    }

    [Fact]
    public async Task Filters_tag_stage_and_search_each_work_and_combine_with_exact_totals()
    {
        var asha = await CreateAsync("+919800000001", "Asha Rao", ["vip", "customer"], "Customer");
        var ashok = await CreateAsync("+919800000002", "Ashok Kumar", ["customer"], "Lead");
        var bina = await CreateAsync("+447911000003", "Bina", ["VIP"], "Customer");
        await CreateAsync("+447911000004", "Chandra", [], null);

        Assert.Equal([bina, asha], await IdsForAsync("tag=vip"));
        Assert.Equal([bina, asha], await IdsForAsync("tag=VIP"));
        Assert.Equal([bina, asha], await IdsForAsync("stage=customer"));
        Assert.Equal([ashok, asha], await IdsForAsync("search=ash"));
        Assert.Equal([ashok, asha], await IdsForAsync("search=ASH"));
        Assert.Equal([asha], await IdsForAsync("search=ash&tag=vip"));
        Assert.Equal([asha], await IdsForAsync("search=ash&stage=Customer&tag=customer"));
        Assert.Equal([ashok, asha], await IdsForAsync("search=%2B9198"));
        Assert.Equal([ashok, asha], await IdsForAsync("search=9198"));
        Assert.Empty(await IdsForAsync("tag=nobody"));
    }

    [Theory]
    [InlineData("tag=' or PartitionKey ne '")]
    [InlineData("search=x' or RowKey gt '")]
    [InlineData("stage=%23%2F%3F%7C~")]
    [InlineData("search=%00")]
    public async Task Hostile_filter_values_match_nothing_and_change_no_query(string query)
    {
        await CreateAsync("+919811111111", "Someone", ["t"], "s");

        var data = await Envelope.SuccessAsync(await _api.GetAsync($"contacts?{query}"));

        Assert.Equal(0, data.GetProperty("total").GetInt64());
        Assert.Empty(Ids(data));
    }

    [Theory]
    [InlineData("per_page=101", "per_page")]
    [InlineData("per_page=0", "per_page")]
    [InlineData("page=-1", "page")]
    [InlineData("page=abc", "page")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    public async Task Bad_paging_parameters_answer_400(string query, string field)
    {
        var body = await Envelope.ErrorAsync(await _api.GetAsync($"contacts?{query}"), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task Names_with_characters_forbidden_in_table_keys_are_searchable()
    {
        var id = await CreateAsync("+919822222222", "A/B #1? ~x|y", ["a/b", "#tag"], "Stage?");

        Assert.Equal([id], await IdsForAsync("search=a%2Fb %231"));
        Assert.Equal([id], await IdsForAsync("tag=a%2Fb"));
        Assert.Equal([id], await IdsForAsync("tag=%23tag"));
        Assert.Equal([id], await IdsForAsync("stage=stage%3F"));
    }

    private async Task<string> CreateAsync(string phone, string? name = null, string[]? tags = null, string? stage = null)
    {
        var data = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = phone, name, tags, stage }), HttpStatusCode.Created);
        return data.GetProperty("id").GetString()!;
    }

    private async Task<List<string>> IdsForAsync(string query)
    {
        var data = await Envelope.SuccessAsync(await _api.GetAsync($"contacts?{query}"));
        var ids = Ids(data).ToList();
        Assert.Equal(ids.Count, data.GetProperty("total").GetInt64());
        return ids;
    }

    private static IEnumerable<string> Ids(JsonElement data) =>
        data.GetProperty("contacts").EnumerateArray().Select(c => c.GetProperty("id").GetString()!);
}
