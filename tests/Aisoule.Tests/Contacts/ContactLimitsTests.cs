using System.Net;
using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Contacts;

/// <summary>
/// The documented field limits always fit Table Storage once escaped and serialised, and anything past them is a 400
/// naming the field with nothing written — never a 500, never half a bulk request.
/// </summary>
public sealed class ContactLimitsTests : IAsyncLifetime
{
    private const string Emoji = "\U0001F600";

    private TestHost _host = null!;
    private KeyClient _api = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _api = await KeyClient.ForNewWorkspaceAsync(_host);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Name_of_100_hash_signs_is_stored_and_found_by_search()
    {
        var name = new string('#', 100);

        var created = await Envelope.SuccessAsync(await PostAsync("contacts", new { phone_number = "+919811111111", name }), HttpStatusCode.Created);

        Assert.Equal(name, created.GetProperty("name").GetString());
        var found = await SearchAsync(new string('#', 100));
        Assert.Equal(created.GetProperty("id").GetString(), Assert.Single(found).GetProperty("id").GetString());
    }

    [Theory]
    [InlineData('#')]
    [InlineData('~')]
    [InlineData('\u0001')]
    [InlineData('é')]
    public async Task Name_of_200_characters_that_all_need_escaping_is_stored_updated_and_deleted(char c)
    {
        var name = "a" + new string(c, 199);

        var created = await Envelope.SuccessAsync(await PostAsync("contacts", new { phone_number = "+919811111112", name }), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString();
        var renamed = await Envelope.SuccessAsync(await PutAsync($"contacts/{id}", new { name = "b" + new string(c, 199) }));
        await Envelope.SuccessAsync(await _api.DeleteAsync($"contacts/{id}"));

        Assert.Equal(name, created.GetProperty("name").GetString());
        Assert.Equal("b" + new string(c, 199), renamed.GetProperty("name").GetString());
        Assert.Equal(0, await CountRowsAsync("n_"));
    }

    [Fact]
    public async Task Name_of_100_emoji_is_stored()
    {
        var name = string.Concat(Enumerable.Repeat(Emoji, 100));

        var created = await Envelope.SuccessAsync(await PostAsync("contacts", new { phone_number = "+919811111113", name }), HttpStatusCode.Created);

        Assert.Equal(name, created.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Search_longer_than_the_indexed_part_of_a_name_matches_on_the_whole_name()
    {
        var stem = new string('#', 150);
        var first = await Envelope.SuccessAsync(await PostAsync("contacts", new { phone_number = "+919811111114", name = stem + "Alpha" }), HttpStatusCode.Created);
        var second = await Envelope.SuccessAsync(await PostAsync("contacts", new { phone_number = "+919811111115", name = stem + "Beta" }), HttpStatusCode.Created);

        var both = await SearchAsync(stem);
        var alpha = await SearchAsync(stem + "alp");
        var none = await SearchAsync(stem + "gamma");

        Assert.Equal(2, both.Count);
        Assert.Equal(first.GetProperty("id").GetString(), Assert.Single(alpha).GetProperty("id").GetString());
        Assert.Empty(none);
        Assert.NotEqual(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Name_of_201_characters_answers_400_naming_the_field()
    {
        var error = await Envelope.ErrorAsync(await PostAsync("contacts", new { phone_number = "+919811111116", name = new string('x', 201) }), HttpStatusCode.BadRequest, "validation_failed");

        Assert.Contains("200", error.GetProperty("errors").GetProperty("name")[0].GetString());
        Assert.Equal(0, await TotalAsync());
    }

    [Fact]
    public async Task Custom_fields_of_8000_emoji_answer_400_naming_the_field_and_store_nothing()
    {
        var error = await Envelope.ErrorAsync(
            await PostAsync("contacts", new { phone_number = "+919811111117", custom_fields = new { note = string.Concat(Enumerable.Repeat(Emoji, 8000)) } }),
            HttpStatusCode.BadRequest,
            "validation_failed");

        Assert.Contains("16,384", error.GetProperty("errors").GetProperty("custom_fields")[0].GetString());
        Assert.Equal(0, await TotalAsync());
        Assert.Equal(0, await CountRowsAsync("o_"));
    }

    [Fact]
    public async Task Custom_fields_at_the_limit_as_stored_are_accepted_and_their_event_fits()
    {
        // {"note":"…"} is 11 characters around the value; each emoji is stored as two \uXXXX escapes (12 characters).
        var note = string.Concat(Enumerable.Repeat(Emoji, (ContactLimits.MaxCustomFieldsChars - 11) / 12));

        var created = await Envelope.SuccessAsync(await PostAsync("contacts", new
        {
            phone_number = "+919811111118",
            wa_user_id = "US.ENT." + new string('7', 128),
            wa_parent_user_id = "US.ENT." + new string('8', 128),
            username = "@" + string.Concat(Enumerable.Repeat(Emoji, 31)) + "a",
            name = string.Concat(Enumerable.Repeat(Emoji, 100)),
            email = "someone@example.com",
            tags = Enumerable.Range(0, 20).Select(i => i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture) + string.Concat(Enumerable.Repeat(Emoji, 24))),
            stage = string.Concat(Enumerable.Repeat(Emoji, 25)),
            custom_fields = new { note },
        }), HttpStatusCode.Created);

        Assert.Equal(note, created.GetProperty("custom_fields").GetProperty("note").GetString());
        Assert.Equal(1, await CountRowsAsync("o_"));
    }

    [Fact]
    public async Task Update_with_oversize_custom_fields_answers_400_and_changes_nothing()
    {
        var created = await Envelope.SuccessAsync(await PostAsync("contacts", new { phone_number = "+919811111119", custom_fields = new { city = "Pune" } }), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString();

        await Envelope.ErrorAsync(
            await PutAsync($"contacts/{id}", new { custom_fields = new { note = string.Concat(Enumerable.Repeat(Emoji, 8000)) } }),
            HttpStatusCode.BadRequest,
            "validation_failed");

        var read = await Envelope.SuccessAsync(await _api.GetAsync($"contacts/{id}"));
        Assert.Equal("Pune", read.GetProperty("custom_fields").GetProperty("city").GetString());
        Assert.Equal(1, await CountRowsAsync("o_"));
    }

    [Theory]
    [InlineData("custom_fields.a", """{"phone_number":"+919811111120","custom_fields":{"a":"\ud800"}}""")]
    [InlineData("name", """{"phone_number":"+919811111120","name":"\ud800x"}""")]
    [InlineData("tags[0]", """{"phone_number":"+919811111120","tags":["\udc00"]}""")]
    public async Task Text_that_is_not_valid_unicode_answers_400_naming_the_field(string field, string body)
    {
        var error = await Envelope.ErrorAsync(await _api.PostJsonAsync("contacts", body), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(error.GetProperty("errors").TryGetProperty(field, out _));
        Assert.Equal(0, await TotalAsync());
    }

    [Fact]
    public async Task Bulk_reports_each_oversize_item_in_failed_and_writes_every_other_item()
    {
        var items = new object[]
        {
            new { phone_number = "+919822222220", name = "Fine" },
            new { phone_number = "+919822222221", custom_fields = new { note = string.Concat(Enumerable.Repeat(Emoji, 8000)) } },
            new { phone_number = "+919822222222", name = new string('#', 100) },
            new { phone_number = "+919822222223", name = new string('#', 201) },
            new { phone_number = "+919822222224", name = "Also fine" },
        };

        var result = await Envelope.SuccessAsync(await PostAsync("contacts/bulk", new { contacts = items }));

        Assert.Equal(3, result.GetProperty("created").GetInt32());
        var failed = result.GetProperty("failed").EnumerateArray().ToList();
        Assert.Equal([1, 3], failed.Select(f => f.GetProperty("index").GetInt32()));
        Assert.All(failed, f => Assert.Equal("validation_failed", f.GetProperty("code").GetString()));
        Assert.Contains("custom_fields", failed[0].GetProperty("message").GetString());
        Assert.Contains("name", failed[1].GetProperty("message").GetString());
        Assert.Equal(3, await TotalAsync());
        Assert.Equal(3, await CountRowsAsync("o_"));
    }

    // Bodies are sent as most clients write them: every character as itself, not as a \uXXXX escape.
    private Task<HttpResponseMessage> PostAsync(string path, object body) => _api.PostJsonAsync(path, LiteralJson.Serialize(body));

    private Task<HttpResponseMessage> PutAsync(string path, object body) => _api.PutJsonAsync(path, LiteralJson.Serialize(body));

    private async Task<List<JsonElement>> SearchAsync(string search) =>
        [.. (await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=" + Uri.EscapeDataString(search)))).GetProperty("contacts").EnumerateArray()];

    private async Task<long> TotalAsync() => (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64();

    private async Task<int> CountRowsAsync(string prefix)
    {
        var table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync("contacts");
        var rows = await table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey ge {prefix} and RowKey lt {prefix[..^1] + (char)(prefix[^1] + 1)}"), select: ["RowKey"]).ToListAsync();
        return rows.Count;
    }
}
