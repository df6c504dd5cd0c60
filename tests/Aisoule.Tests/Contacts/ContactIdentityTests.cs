using System.Net;
using System.Text.Json;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Contacts;

/// <summary>Contacts carry Meta's WhatsApp identity: a BSUID (<c>wa_user_id</c>), its parent and the username; a phone is optional.</summary>
public sealed class ContactIdentityTests : IAsyncLifetime
{
    private const string Bsuid = "US.13491208655302741918";
    private const string Parent = "US.ENT.11815799212886844830";

    private TestHost _host = null!;
    private KeyClient _api = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _api = await KeyClient.ForNewWorkspaceAsync(_host);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Contact_with_only_a_whatsapp_user_id_is_created_read_listed_and_counted()
    {
        var created = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new
        {
            wa_user_id = Bsuid,
            wa_parent_user_id = Parent,
            username = "@realsheenanelson",
            name = "Sheena Nelson",
        }), HttpStatusCode.Created);

        var read = await Envelope.SuccessAsync(await _api.GetAsync($"contacts/{created.GetProperty("id").GetString()}"));
        Assert.Equal(JsonValueKind.Null, read.GetProperty("phone_number").ValueKind);
        Assert.Equal(Bsuid, read.GetProperty("wa_user_id").GetString());
        Assert.Equal(Parent, read.GetProperty("wa_parent_user_id").GetString());
        Assert.Equal("@realsheenanelson", read.GetProperty("username").GetString());

        var list = await Envelope.SuccessAsync(await _api.GetAsync("contacts"));
        Assert.Equal(1, list.GetProperty("total").GetInt64());
        Assert.Equal(created.GetProperty("id").GetString(), Assert.Single(list.GetProperty("contacts").EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_phone_contact_keeps_its_phone_and_shows_null_identity_fields()
    {
        var created = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+14155550140" }), HttpStatusCode.Created);

        Assert.Equal("+14155550140", created.GetProperty("phone_number").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("wa_user_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, created.GetProperty("wa_parent_user_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, created.GetProperty("username").ValueKind);
    }

    [Fact]
    public async Task A_whatsapp_user_id_is_unique_in_the_workspace_and_a_duplicate_answers_409_with_the_existing_id()
    {
        var first = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = Bsuid }), HttpStatusCode.Created);
        var other = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+14155550141", wa_user_id = "US.999" }), HttpStatusCode.Created);

        var again = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { phone_number = "+14155550142", wa_user_id = Bsuid }), HttpStatusCode.Conflict, "contact_exists");
        var moved = await Envelope.ErrorAsync(await _api.PutAsync($"contacts/{other.GetProperty("id").GetString()}", new { wa_user_id = Bsuid }), HttpStatusCode.Conflict, "contact_exists");

        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("id").GetString(), moved.GetProperty("id").GetString());
        Assert.Equal("US.999", (await Envelope.SuccessAsync(await _api.GetAsync($"contacts/{other.GetProperty("id").GetString()}"))).GetProperty("wa_user_id").GetString());
        Assert.Equal(2, (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Same_whatsapp_user_id_created_at_once_on_two_instances_makes_exactly_one_contact()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix);
        var clients = new[] { _api, _api.On(other) };

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => clients[i % 2].PostAsync("contacts", new { wa_user_id = Bsuid, name = $"racer {i}" })));

        var created = responses.Where(r => r.StatusCode == HttpStatusCode.Created).ToList();
        var winner = await Envelope.SuccessAsync(Assert.Single(created), HttpStatusCode.Created);
        foreach (var loser in responses.Except(created))
        {
            var body = await Envelope.ErrorAsync(loser, HttpStatusCode.Conflict, "contact_exists");
            Assert.Equal(winner.GetProperty("id").GetString(), body.GetProperty("id").GetString());
        }

        Assert.Equal(1, (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Changing_the_whatsapp_user_id_frees_the_old_one()
    {
        var a = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = Bsuid }), HttpStatusCode.Created);

        await Envelope.SuccessAsync(await _api.PutAsync($"contacts/{a.GetProperty("id").GetString()}", new { wa_user_id = "US.77" }));

        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = Bsuid }), HttpStatusCode.Created);
        await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { wa_user_id = "US.77" }), HttpStatusCode.Conflict, "contact_exists");
    }

    [Theory]
    [InlineData("13491208655302741918")]
    [InlineData("+14155550143")]
    [InlineData("us.13491208655302741918")]
    [InlineData("USA.1349")]
    [InlineData("US.")]
    [InlineData("US.ENT.")]
    [InlineData("US.1349-1208")]
    [InlineData("US.1349\n")]
    [InlineData("US.ENT.ENT.1")]
    [InlineData("")]
    public async Task Invalid_whatsapp_user_ids_answer_400_naming_the_field_and_store_nothing(string id)
    {
        var user = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { wa_user_id = id }), HttpStatusCode.BadRequest, "validation_failed");
        var parent = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { phone_number = "+14155550144", wa_parent_user_id = id }), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(user.GetProperty("errors").TryGetProperty("wa_user_id", out _), user.ToString());
        Assert.True(parent.GetProperty("errors").TryGetProperty("wa_parent_user_id", out _), parent.ToString());
        Assert.Equal(0, (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task The_longest_whatsapp_user_id_is_accepted_and_one_longer_is_refused()
    {
        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = "US.ENT." + new string('9', 128) }), HttpStatusCode.Created);

        await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { wa_user_id = "US." + new string('9', 129) }), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_contact_needs_a_phone_or_a_whatsapp_user_id_and_cannot_be_left_with_neither()
    {
        var neither = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { name = "Nobody", username = "@nobody" }), HttpStatusCode.BadRequest, "validation_failed");
        var phoneOnly = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+14155550145" }), HttpStatusCode.Created);
        var both = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+14155550146", wa_user_id = Bsuid }), HttpStatusCode.Created);

        var cleared = await Envelope.ErrorAsync(await _api.PutJsonAsync($"contacts/{phoneOnly.GetProperty("id").GetString()}", """{"phone_number":null}"""), HttpStatusCode.BadRequest, "validation_failed");
        var phoneDropped = await Envelope.SuccessAsync(await _api.PutJsonAsync($"contacts/{both.GetProperty("id").GetString()}", """{"phone_number":null}"""));

        Assert.Contains("wa_user_id", neither.GetProperty("errors").GetProperty("phone_number")[0].GetString());
        Assert.True(cleared.GetProperty("errors").TryGetProperty("phone_number", out _));
        Assert.Equal(JsonValueKind.Null, phoneDropped.GetProperty("phone_number").ValueKind);
        Assert.Equal("+14155550145", (await Envelope.SuccessAsync(await _api.GetAsync($"contacts/{phoneOnly.GetProperty("id").GetString()}"))).GetProperty("phone_number").GetString());

        // The dropped phone is free again.
        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+14155550146" }), HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("pablo")]
    [InlineData("@Pablo")]
    [InlineData("PABLOMOR")]
    public async Task Search_finds_a_contact_by_the_start_of_its_username(string search)
    {
        var pablo = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = Bsuid, username = "@pablomorales" }), HttpStatusCode.Created);
        await _api.PostAsync("contacts", new { wa_user_id = "US.5", username = "@morales" });
        await _api.PostAsync("contacts", new { phone_number = "+14155550147", name = "Someone" });

        var found = await Envelope.SuccessAsync(await _api.GetAsync($"contacts?search={Uri.EscapeDataString(search)}"));

        Assert.Equal(1, found.GetProperty("total").GetInt64());
        Assert.Equal(pablo.GetProperty("id").GetString(), Assert.Single(found.GetProperty("contacts").EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Changing_a_username_moves_it_in_search()
    {
        var c = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = Bsuid, username = "@oldname" }), HttpStatusCode.Created);

        await Envelope.SuccessAsync(await _api.PutAsync($"contacts/{c.GetProperty("id").GetString()}", new { username = "@newname" }));

        Assert.Equal(0, (await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=old"))).GetProperty("total").GetInt64());
        Assert.Equal(1, (await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=new"))).GetProperty("total").GetInt64());
    }

    [Theory]
    [InlineData("""{"wa_user_id":"US.1","username":""}""", "username")]
    [InlineData("""{"wa_user_id":"US.1","username":"@a\u0000b"}""", "username")]
    [InlineData("""{"wa_user_id":12345}""", "wa_user_id")]
    public async Task Bad_usernames_and_ids_answer_400_naming_the_field(string json, string field)
    {
        var body = await Envelope.ErrorAsync(await _api.PostJsonAsync("contacts", json), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
    }

    [Fact]
    public async Task A_username_longer_than_64_characters_is_refused()
    {
        var body = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { wa_user_id = Bsuid, username = "@" + new string('a', 64) }), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(body.GetProperty("errors").TryGetProperty("username", out _));
    }

    [Fact]
    public async Task Bulk_upserts_items_without_a_phone_by_their_whatsapp_user_id()
    {
        var result = await Envelope.SuccessAsync(await _api.PostJsonAsync("contacts/bulk", $$"""
            {"contacts":[{"wa_user_id":"{{Bsuid}}","name":"First"},{"wa_user_id":"{{Bsuid}}","name":"Second"},
                         {"phone_number":"+14155550148","wa_user_id":"US.42"},{"name":"Nobody"}]}
            """));

        Assert.Equal(2, result.GetProperty("created").GetInt32());
        Assert.Equal(1, result.GetProperty("updated").GetInt32());
        Assert.Equal(3, Assert.Single(result.GetProperty("failed").EnumerateArray()).GetProperty("index").GetInt32());
        var list = await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=second"));
        Assert.Equal(Bsuid, Assert.Single(list.GetProperty("contacts").EnumerateArray()).GetProperty("wa_user_id").GetString());
    }

    [Theory]
    [InlineData("""[{"phone_number":"+14155550161","wa_user_id":"US.77","name":"A"},{"phone_number":"+14155550162","wa_user_id":"US.77","name":"B"},{"phone_number":"+14155550163","name":"C"}]""")]
    [InlineData("""[{"wa_user_id":"US.77","name":"A"},{"phone_number":"+14155550162","wa_user_id":"US.77","name":"B"},{"phone_number":"+14155550163","name":"C"}]""")]
    public async Task Bulk_items_sharing_a_whatsapp_user_id_under_another_key_never_fail_the_whole_import(string contacts)
    {
        var response = await _api.PostJsonAsync("contacts/bulk", $$"""{"contacts":{{contacts}}}""");

        // One transaction never carries one pointer row twice (storage refuses that batch whole: was a 500).
        var result = await Envelope.SuccessAsync(response);
        Assert.Equal(2, result.GetProperty("created").GetInt32());
        Assert.Equal(3, result.GetProperty("created").GetInt32() + result.GetProperty("updated").GetInt32() + result.GetProperty("failed").GetArrayLength());
        var list = await Envelope.SuccessAsync(await _api.GetAsync("contacts"));
        Assert.Equal(2, list.GetProperty("total").GetInt32());
        var owner = await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=c"));
        Assert.Single(owner.GetProperty("contacts").EnumerateArray());
    }

    [Fact]
    public async Task A_username_that_is_only_an_at_sign_is_refused_and_searching_for_one_does_not_match_every_username()
    {
        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = Bsuid, username = "@sheena" }), HttpStatusCode.Created);
        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = "US.42", username = "@pablo" }), HttpStatusCode.Created);

        var refused = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { wa_user_id = "US.43", username = "@" }), HttpStatusCode.BadRequest, "validation_failed");
        var search = await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=%40"));

        Assert.True(refused.GetProperty("errors").TryGetProperty("username", out _));
        Assert.Equal(0, search.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Contact_events_carry_the_identity_with_a_null_phone()
    {
        var created = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { wa_user_id = Bsuid, wa_parent_user_id = Parent, username = "@sheena" }), HttpStatusCode.Created);
        await Envelope.SuccessAsync(await _api.PutAsync($"contacts/{created.GetProperty("id").GetString()}", new { username = "@sheena2" }));

        var table = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync("contacts");
        var events = await table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey ge {"o_"} and RowKey lt {"o`"}")).ToListAsync();

        Assert.Equal(["contact.created", "contact.updated"], events.Select(e => e.GetString("Event")));
        var data = JsonDocument.Parse(events[1].GetString("Data")).RootElement;
        Assert.Equal(JsonValueKind.Null, data.GetProperty("phone_number").ValueKind);
        Assert.Equal(Bsuid, data.GetProperty("wa_user_id").GetString());
        Assert.Equal(Parent, data.GetProperty("wa_parent_user_id").GetString());
        Assert.Equal("@sheena2", data.GetProperty("username").GetString());
    }
}
