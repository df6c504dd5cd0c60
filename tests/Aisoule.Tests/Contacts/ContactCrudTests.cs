using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Contacts;

public sealed class ContactCrudTests : IAsyncLifetime
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
    public async Task Created_contact_is_stored_in_e164_and_read_back_whole()
    {
        var created = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new
        {
            phone_number = "+91 98765-43210",
            name = "John Doe",
            email = "john@example.com",
            tags = new[] { "customer", "vip" },
            stage = "Customer",
            custom_fields = new { city = "Pune", orders = 3 },
        }), HttpStatusCode.Created);

        var read = await Envelope.SuccessAsync(await _api.GetAsync($"contacts/{created.GetProperty("id").GetString()}"));

        Assert.Equal("+919876543210", read.GetProperty("phone_number").GetString());
        Assert.Equal("John Doe", read.GetProperty("name").GetString());
        Assert.Equal("john@example.com", read.GetProperty("email").GetString());
        Assert.Equal(["customer", "vip"], read.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal("Customer", read.GetProperty("stage").GetString());
        Assert.Equal("Pune", read.GetProperty("custom_fields").GetProperty("city").GetString());
        Assert.True(read.GetProperty("opted_in").GetBoolean());
        Assert.Equal(JsonValueKind.Null, read.GetProperty("last_inbound_at").ValueKind);
        Assert.Equal(read.GetProperty("created_at").GetString(), read.GetProperty("updated_at").GetString());
    }

    [Theory]
    [InlineData("919876543211")]
    [InlineData("0091 98765 43211")]
    [InlineData("+91 (98765) 43211")]
    [InlineData("+91.98765.43211")]
    public async Task Every_common_spelling_of_a_number_is_the_same_contact(string spelling)
    {
        var first = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+919876543211" }), HttpStatusCode.Created);

        var again = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { phone_number = spelling }), HttpStatusCode.Conflict, "contact_exists");

        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        await _api.DeleteAsync($"contacts/{first.GetProperty("id").GetString()}");
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("+91987")]
    [InlineData("call me")]
    [InlineData("++919876543210")]
    [InlineData("+91 98765 43210 ext 5")]
    [InlineData("")]
    public async Task Invalid_phone_number_answers_400_and_stores_nothing(string phone)
    {
        var body = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { phone_number = phone, name = "X" }), HttpStatusCode.BadRequest, "invalid_phone_number");

        Assert.Equal("Invalid phone number", body.GetProperty("message").GetString());
        var list = await Envelope.SuccessAsync(await _api.GetAsync("contacts"));
        Assert.Equal(0, list.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Missing_phone_number_answers_400()
    {
        var body = await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { name = "No Phone" }), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(body.GetProperty("errors").TryGetProperty("phone_number", out _));
    }

    [Fact]
    public async Task Same_phone_created_at_once_on_two_instances_makes_exactly_one_contact()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix);
        var clients = new[] { _api, _api.On(other) };

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => clients[i % 2].PostAsync("contacts", new { phone_number = "+14155550123", name = $"racer {i}" })));

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
    public async Task Put_changes_only_the_fields_present_and_moves_updated_at()
    {
        var created = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+447911123456", name = "Ada", email = "ada@example.com", tags = new[] { "lead" } }), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString();
        await Task.Delay(1100);

        var updated = await Envelope.SuccessAsync(await _api.PutJsonAsync($"contacts/{id}", """{"stage":"Qualified","email":null}"""));

        Assert.Equal("Ada", updated.GetProperty("name").GetString());
        Assert.Equal(["lead"], updated.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal("Qualified", updated.GetProperty("stage").GetString());
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("email").ValueKind);
        Assert.Equal(created.GetProperty("created_at").GetString(), updated.GetProperty("created_at").GetString());
        Assert.True(string.CompareOrdinal(updated.GetProperty("updated_at").GetString(), created.GetProperty("updated_at").GetString()) > 0);
    }

    [Fact]
    public async Task Changing_to_a_phone_another_contact_has_answers_409_and_changes_nothing()
    {
        var a = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+4915112345678", name = "A" }), HttpStatusCode.Created);
        var b = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+4915112345679", name = "B" }), HttpStatusCode.Created);

        var refused = await Envelope.ErrorAsync(await _api.PutAsync($"contacts/{b.GetProperty("id").GetString()}", new { phone_number = "+49 151 12345678", name = "B2" }), HttpStatusCode.Conflict, "contact_exists");

        Assert.Equal(a.GetProperty("id").GetString(), refused.GetProperty("id").GetString());
        var stillB = await Envelope.SuccessAsync(await _api.GetAsync($"contacts/{b.GetProperty("id").GetString()}"));
        Assert.Equal("+4915112345679", stillB.GetProperty("phone_number").GetString());
        Assert.Equal("B", stillB.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Changing_the_phone_frees_the_old_number()
    {
        var a = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+33612345678" }), HttpStatusCode.Created);

        await Envelope.SuccessAsync(await _api.PutAsync($"contacts/{a.GetProperty("id").GetString()}", new { phone_number = "+33612345679" }));

        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+33612345678" }), HttpStatusCode.Created);
        await Envelope.ErrorAsync(await _api.PostAsync("contacts", new { phone_number = "+33612345679" }), HttpStatusCode.Conflict, "contact_exists");
    }

    [Fact]
    public async Task One_contact_deleted_at_once_on_two_instances_is_deleted_once_and_the_others_answer_404_never_500()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix);
        var clients = new[] { _api, _api.On(other) };
        for (var round = 0; round < 5; round++)
        {
            var contact = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = $"+6141234{round:D4}", tags = new[] { "x" } }), HttpStatusCode.Created);
            var id = contact.GetProperty("id").GetString();

            var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => clients[i % 2].DeleteAsync($"contacts/{id}")));

            await Envelope.SuccessAsync(Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK));
            foreach (var late in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
            {
                await Envelope.ErrorAsync(late, HttpStatusCode.NotFound, "not_found");
            }
        }

        Assert.Equal(0, (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Deleted_contact_answers_404_and_its_phone_is_free_again()
    {
        var a = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+61412345678", tags = new[] { "x" } }), HttpStatusCode.Created);
        var id = a.GetProperty("id").GetString();

        var deleted = await Envelope.SuccessAsync(await _api.DeleteAsync($"contacts/{id}"));

        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        Assert.Equal(id, deleted.GetProperty("id").GetString());
        await Envelope.ErrorAsync(await _api.GetAsync($"contacts/{id}"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await _api.DeleteAsync($"contacts/{id}"), HttpStatusCode.NotFound, "not_found");
        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+61412345678" }), HttpStatusCode.Created);
    }

    [Fact]
    public async Task Another_workspaces_contact_is_404_to_read_change_and_delete_and_never_listed()
    {
        var theirs = await KeyClient.ForNewWorkspaceAsync(_host);
        var contact = await Envelope.SuccessAsync(await theirs.PostAsync("contacts", new { phone_number = "+12025550143", name = "Theirs", tags = new[] { "secret" } }), HttpStatusCode.Created);
        var id = contact.GetProperty("id").GetString();

        await Envelope.ErrorAsync(await _api.GetAsync($"contacts/{id}"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await _api.PutAsync($"contacts/{id}", new { name = "Mine now" }), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await _api.DeleteAsync($"contacts/{id}"), HttpStatusCode.NotFound, "not_found");
        Assert.Equal(0, (await Envelope.SuccessAsync(await _api.GetAsync("contacts?tag=secret"))).GetProperty("total").GetInt64());
        Assert.Equal(0, (await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=Theirs"))).GetProperty("total").GetInt64());
        // And the same phone is free in our workspace.
        await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+12025550143" }), HttpStatusCode.Created);
        Assert.Equal("Theirs", (await Envelope.SuccessAsync(await theirs.GetAsync($"contacts/{id}"))).GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("ct_' or PartitionKey ne '")]
    [InlineData("..%2F..%2Fkeys")]
    [InlineData("ct_0000000000000000000000000")]
    [InlineData("c_ct_00000000")]
    [InlineData("%23%3F")]
    public async Task Hostile_or_unknown_ids_answer_404(string id)
    {
        await Envelope.ErrorAsync(await _api.GetAsync($"contacts/{id}"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await _api.PutAsync($"contacts/{id}", new { name = "x" }), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await _api.DeleteAsync($"contacts/{id}"), HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [InlineData("""{"phone_number":"+919812345678","id":"ct_x"}""", "id")]
    [InlineData("""{"phone_number":"+919812345678","created_at":"2020-01-01T00:00:00Z"}""", "created_at")]
    [InlineData("""{"phone_number":"+919812345678","tags":"vip"}""", "tags")]
    [InlineData("""{"phone_number":"+919812345678","tags":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u"]}""", "tags")]
    [InlineData("""{"phone_number":"+919812345678","custom_fields":[1,2]}""", "custom_fields")]
    [InlineData("""{"phone_number":"+919812345678","custom_fields":{"nested":{"a":1}}}""", "custom_fields")]
    [InlineData("""{"phone_number":"+919812345678","email":"not an email"}""", "email")]
    [InlineData("""{"phone_number":"+919812345678","opted_in":"yes"}""", "opted_in")]
    [InlineData("""{"phone_number":919812345678}""", "phone_number")]
    public async Task Bad_fields_answer_400_naming_the_field_and_store_nothing(string json, string field)
    {
        var body = await Envelope.ErrorAsync(await _api.PostJsonAsync("contacts", json), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
        Assert.Equal(0, (await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=%2B9198123"))).GetProperty("total").GetInt64());
    }
}
