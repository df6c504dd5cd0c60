using System.Net;
using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Contacts;

/// <summary>Core's entry point for the identity Meta's webhooks report: upsert by BSUID or phone, link them, move on id changes.</summary>
public sealed class WhatsAppUserTests : IAsyncLifetime
{
    private const string Bsuid = "US.13491208655302741918";
    private const string Parent = "US.ENT.11815799212886844830";

    private TestHost _host = null!;
    private KeyClient _api = null!;
    private ContactService _contacts = null!;
    private string _workspace = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        var owner = await Infrastructure.Identity.SignUpAsync(_host);
        _api = new KeyClient(_host.Client, await owner.CreateKeyAsync());
        _workspace = owner.WorkspaceId;
        _contacts = _host.Services.GetRequiredService<ContactService>();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_user_without_a_phone_becomes_one_contact_found_by_their_user_id()
    {
        var first = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser(null, Bsuid, Parent, "@realsheenanelson", "Sheena Nelson"));
        var again = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser(null, Bsuid, Parent, "@realsheenanelson", "Sheena Nelson"));

        Assert.Equal(first.Value!.Id, again.Value!.Id);
        var read = await Envelope.SuccessAsync(await _api.GetAsync($"contacts/{first.Value.Id}"));
        Assert.Equal(JsonValueKind.Null, read.GetProperty("phone_number").ValueKind);
        Assert.Equal(Bsuid, read.GetProperty("wa_user_id").GetString());
        Assert.Equal(Parent, read.GetProperty("wa_parent_user_id").GetString());
        Assert.Equal("@realsheenanelson", read.GetProperty("username").GetString());
        Assert.Equal("Sheena Nelson", read.GetProperty("name").GetString());
        Assert.Equal(first.Value.Id, (await _contacts.FindByWhatsAppUserIdAsync(_workspace, Bsuid))!.Id);
        Assert.Equal(1, await TotalAsync());
    }

    [Fact]
    public async Task A_phone_contact_seen_with_its_user_id_gains_it_and_stays_one_contact()
    {
        var phoneContact = await Envelope.SuccessAsync(await _api.PostAsync("contacts", new { phone_number = "+16505551234", name = "Kept Name" }), HttpStatusCode.Created);

        var linked = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser("+16505551234", Bsuid, null, "@pablo", "Profile Name"));
        var byIdOnly = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser(null, Bsuid));

        Assert.Equal(phoneContact.GetProperty("id").GetString(), linked.Value!.Id);
        Assert.Equal(linked.Value.Id, byIdOnly.Value!.Id);
        Assert.Equal(Bsuid, linked.Value.WaUserId);
        Assert.Equal("+16505551234", byIdOnly.Value.PhoneNumber);
        Assert.Equal("Kept Name", byIdOnly.Value.Name);
        Assert.Equal("@pablo", byIdOnly.Value.Username);
        Assert.Equal(1, await TotalAsync());
    }

    [Fact]
    public async Task A_user_id_contact_later_seen_with_a_phone_gains_the_phone()
    {
        var first = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser(null, Bsuid));

        var withPhone = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser("+16505551234", Bsuid));

        Assert.Equal(first.Value!.Id, withPhone.Value!.Id);
        Assert.Equal(first.Value.Id, (await _contacts.FindByPhoneAsync(_workspace, "+16505551234"))!.Id);
        Assert.Equal(1, await TotalAsync());
    }

    [Fact]
    public async Task A_changed_username_or_parent_replaces_the_old_and_a_missing_one_changes_nothing()
    {
        await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser(null, Bsuid, null, "@old"));

        var changed = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser(null, Bsuid, Parent, "@new"));
        var omitted = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser(null, Bsuid));

        Assert.Equal("@new", changed.Value!.Username);
        Assert.Equal(Parent, omitted.Value!.WaParentUserId);
        Assert.Equal("@new", omitted.Value.Username);
        Assert.Equal(0, (await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=old"))).GetProperty("total").GetInt64());
        Assert.Equal(1, (await Envelope.SuccessAsync(await _api.GetAsync("contacts?search=new"))).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task The_same_new_user_upserted_at_once_on_two_instances_is_one_contact()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix);
        var services = new[] { _contacts, other.Services.GetRequiredService<ContactService>() };

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            services[i % 2].UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser(i % 3 == 0 ? "+16505551234" : null, Bsuid, null, "@racer"))));

        Assert.Single(results.Select(r => r.Value!.Id).Distinct());
        Assert.Equal(1, await TotalAsync());
        Assert.Equal("+16505551234", (await _contacts.FindByWhatsAppUserIdAsync(_workspace, Bsuid))!.PhoneNumber);
    }

    [Fact]
    public async Task Moving_a_user_id_rekeys_the_contact_frees_the_old_id_and_takes_the_new_phone()
    {
        var before = await _contacts.UpsertWhatsAppUserAsync(_workspace, new WhatsAppUser("+16505551234", Bsuid));

        var moved = await _contacts.MoveWhatsAppUserAsync(_workspace, Bsuid, new WhatsAppUser("+16505559999", "US.55555"));
        var again = await _contacts.MoveWhatsAppUserAsync(_workspace, Bsuid, new WhatsAppUser("+16505559999", "US.55555"));

        Assert.Equal(before.Value!.Id, moved.Value!.Id);
        Assert.Equal(before.Value.Id, again.Value!.Id);
        Assert.Null(await _contacts.FindByWhatsAppUserIdAsync(_workspace, Bsuid));
        Assert.Equal(before.Value.Id, (await _contacts.FindByWhatsAppUserIdAsync(_workspace, "US.55555"))!.Id);
        Assert.Equal(before.Value.Id, (await _contacts.FindByPhoneAsync(_workspace, "+16505559999"))!.Id);
        Assert.Null(await _contacts.FindByPhoneAsync(_workspace, "+16505551234"));
        Assert.Equal(1, await TotalAsync());
    }

    [Fact]
    public async Task Moving_an_unknown_user_id_is_not_found_and_creates_nothing()
    {
        var moved = await _contacts.MoveWhatsAppUserAsync(_workspace, Bsuid, new WhatsAppUser(null, "US.55555"));

        Assert.Equal("not_found", moved.Error!.Code);
        Assert.Equal(0, await TotalAsync());
    }

    private async Task<long> TotalAsync() => (await Envelope.SuccessAsync(await _api.GetAsync("contacts"))).GetProperty("total").GetInt64();
}
