using System.Net;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed class TenancyTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private Account _alice = null!;
    private Account _bob = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _alice = await Infrastructure.Identity.SignUpAsync(_host);
        _bob = await Infrastructure.Identity.SignUpAsync(_host);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Another_workspaces_key_is_a_404_to_revoke_and_stays_usable()
    {
        var bobs = await _bob.CreateKeyDataAsync();

        await Envelope.ErrorAsync(await _alice.SendAsync(HttpMethod.Delete, $"keys/{bobs.GetProperty("id").GetString()}"), HttpStatusCode.NotFound, "not_found");

        await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", bobs.GetProperty("key").GetString()!)));
    }

    [Fact]
    public async Task Key_list_shows_only_the_callers_workspace()
    {
        await _alice.CreateKeyAsync("alice's");
        await _bob.CreateKeyAsync("bob's");

        var list = await Envelope.SuccessAsync(await _alice.GetAsync("keys"));

        Assert.Equal(["alice's"], list.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("name").GetString()!));
        Assert.Equal(1, list.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Key_and_session_each_see_only_their_own_workspace()
    {
        var bobsKey = await _bob.CreateKeyAsync();

        var viaKey = await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", bobsKey)));
        var viaSession = await Envelope.SuccessAsync(await _alice.GetAsync("auth/me"));

        Assert.Equal(_bob.WorkspaceId, viaKey.GetProperty("workspace").GetProperty("id").GetString());
        Assert.Equal(_alice.WorkspaceId, viaSession.GetProperty("workspace").GetProperty("id").GetString());
        Assert.NotEqual(_alice.WorkspaceId, _bob.WorkspaceId);
    }

    [Fact]
    public async Task Logout_ends_only_the_callers_session()
    {
        await Envelope.SuccessAsync(await _bob.SendAsync(HttpMethod.Post, "auth/logout"));

        await Envelope.SuccessAsync(await _alice.GetAsync("auth/me"));
    }

    [Theory]
    [InlineData("key_00000000000000000000000000000000")]
    [InlineData("key_'%20or%20''='")]
    [InlineData("..%2F..%2Fworkspaces")]
    [InlineData("key_abc%23def")]
    public async Task Hostile_or_unknown_key_ids_answer_404_and_change_nothing(string id)
    {
        var key = await _alice.CreateKeyAsync();

        await Envelope.ErrorAsync(await _alice.SendAsync(HttpMethod.Delete, $"keys/{id}"), HttpStatusCode.NotFound, "not_found");

        await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)));
    }

    [Fact]
    public async Task Very_long_key_id_answers_404()
    {
        await Envelope.ErrorAsync(await _alice.SendAsync(HttpMethod.Delete, "keys/" + new string('k', 5000)), HttpStatusCode.NotFound, "not_found");
    }
}
