using System.Net;
using Aisoule.Core.Identity;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed class ApiKeyTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private Account _owner = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _owner = await Infrastructure.Identity.SignUpAsync(_host);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Created_key_is_shown_once_and_only_its_sha256_is_stored()
    {
        var created = await _owner.CreateKeyDataAsync("CRM Integration");
        var key = created.GetProperty("key").GetString()!;

        var list = await Envelope.SuccessAsync(await _owner.GetAsync("keys"));
        var listed = Assert.Single(list.GetProperty("keys").EnumerateArray());
        Assert.False(listed.TryGetProperty("key", out _));
        Assert.DoesNotContain(key, list.ToString(), StringComparison.Ordinal);
        Assert.Equal(created.GetProperty("id").GetString(), listed.GetProperty("id").GetString());
        Assert.Equal(key[..12], listed.GetProperty("prefix").GetString());
        Assert.Equal("active", listed.GetProperty("status").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", listed.GetProperty("created_at").GetString());

        var stored = await AllStoredTextAsync();
        Assert.DoesNotContain(key, stored, StringComparison.Ordinal);
        Assert.Contains(Secrets.Hash(key), stored, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_have_the_live_prefix_192_random_bits_and_a_checksum()
    {
        var keys = Enumerable.Range(0, 2000).Select(_ => ApiKeyFormat.Generate()).ToList();

        Assert.All(keys, k => Assert.StartsWith("ak_live_", k, StringComparison.Ordinal));
        Assert.All(keys, k => Assert.True(ApiKeyFormat.IsWellFormed(k)));
        Assert.Equal(keys.Count, keys.Distinct().Count());
        // 33 base62 characters hold log2(62^33) ≈ 196 bits, enough for the 192 random bits behind them.
        Assert.All(keys, k => Assert.Equal("ak_live_".Length + 33 + 6, k.Length));
        var tampered = keys[0][..^7] + (keys[0][^7] == 'a' ? 'b' : 'a') + keys[0][^6..];
        Assert.False(ApiKeyFormat.IsWellFormed(tampered));
    }

    [Fact]
    public async Task Key_authenticates_and_me_names_the_key_its_scopes_and_workspace()
    {
        var key = await _owner.CreateKeyAsync("Zapier", [Scopes.ContactsRead]);

        var me = await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)));

        Assert.Equal(_owner.WorkspaceId, me.GetProperty("workspace").GetProperty("id").GetString());
        Assert.Equal("Zapier", me.GetProperty("key").GetProperty("name").GetString());
        Assert.Equal([Scopes.ContactsRead], me.GetProperty("key").GetProperty("scopes").EnumerateArray().Select(s => s.GetString()!));
    }

    [Fact]
    public async Task Key_with_a_broken_checksum_or_unknown_to_us_is_refused_with_401()
    {
        var key = await _owner.CreateKeyAsync();
        var tampered = key[..^1] + (key[^1] == 'a' ? 'b' : 'a');

        await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", tampered)), HttpStatusCode.Unauthorized, "invalid_api_key");
        await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", ApiKeyFormat.Generate())), HttpStatusCode.Unauthorized, "invalid_api_key");
        await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", "your_api_key_here")), HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Fact]
    public async Task Key_needs_no_csrf_token_for_writes()
    {
        var key = await _owner.CreateKeyAsync();

        var response = await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Post, "probe/write", key));

        await Envelope.SuccessAsync(response);
    }

    [Fact]
    public async Task Revoked_key_is_rejected_on_the_next_request_on_every_instance()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix);
        var created = await _owner.CreateKeyDataAsync();
        var key = created.GetProperty("key").GetString()!;
        await Envelope.SuccessAsync(await other.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)));
        await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)));

        var revoked = await Envelope.SuccessAsync(await _owner.SendAsync(HttpMethod.Delete, $"keys/{created.GetProperty("id").GetString()}"));

        Assert.Equal("revoked", revoked.GetProperty("status").GetString());
        await Envelope.ErrorAsync(await other.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)), HttpStatusCode.Unauthorized, "key_revoked");
        await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)), HttpStatusCode.Unauthorized, "key_revoked");
    }

    [Fact]
    public async Task Key_is_refused_from_the_second_its_expiry_passes()
    {
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(4);
        var key = await _owner.CreateKeyAsync(expiresAt: expiresAt);
        await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)));

        var second = new DateTimeOffset(expiresAt.Ticks - (expiresAt.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var wait = second - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50);
        await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);

        await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)), HttpStatusCode.Unauthorized, "key_expired");
        var listed = (await Envelope.SuccessAsync(await _owner.GetAsync("keys"))).GetProperty("keys").EnumerateArray().Single();
        Assert.Equal("expired", listed.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Expiry_in_the_past_answers_400()
    {
        var response = await _owner.SendAsync(HttpMethod.Post, "keys", new { name = "old", expires_at = DateTimeOffset.UtcNow.AddMinutes(-1) });

        var body = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(body.GetProperty("errors").TryGetProperty("expires_at", out _));
    }

    [Fact]
    public async Task Expiry_within_the_current_second_answers_400()
    {
        var now = DateTimeOffset.UtcNow;
        var sameSecond = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond) + TimeSpan.TicksPerSecond - 1, TimeSpan.Zero);

        var response = await _owner.SendAsync(HttpMethod.Post, "keys", new { name = "instant", expires_at = sameSecond });

        await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_key_cannot_create_list_or_revoke_keys()
    {
        var created = await _owner.CreateKeyDataAsync();
        var key = created.GetProperty("key").GetString()!;

        await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Post, "keys", key, new { name = "minted" })), HttpStatusCode.Forbidden, "session_required");
        await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "keys", key)), HttpStatusCode.Forbidden, "session_required");
        await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Delete, $"keys/{created.GetProperty("id").GetString()}", key)), HttpStatusCode.Forbidden, "session_required");
    }

    [Fact]
    public async Task Key_scopes_narrow_what_it_may_do_and_the_refusal_names_the_missing_scope()
    {
        var key = await _owner.CreateKeyAsync(scopes: [Scopes.ContactsRead]);

        await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "probe/read", key)));
        var refused = await Envelope.ErrorAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Post, "probe/write", key)), HttpStatusCode.Forbidden, "insufficient_scope");

        Assert.Contains(Scopes.ContactsWrite, refused.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_without_scopes_carries_every_permission_of_its_creator()
    {
        var created = await _owner.CreateKeyDataAsync();

        Assert.Equal(Scopes.All.Order(StringComparer.Ordinal), created.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()!));
    }

    [Fact]
    public async Task Unknown_scope_answers_400()
    {
        var response = await _owner.SendAsync(HttpMethod.Post, "keys", new { name = "x", scopes = new[] { "contacts:read", "everything:please" } });

        var body = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("everything:please", body.GetProperty("errors").GetProperty("scopes")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_usage_is_counted_without_losing_requests_across_instances()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix);
        var key = await _owner.CreateKeyAsync();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? _host : other).Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key))));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        System.Text.Json.JsonElement listed;
        do
        {
            await Task.Delay(150);
            listed = (await Envelope.SuccessAsync(await _owner.GetAsync("keys"))).GetProperty("keys").EnumerateArray().Single();
        }
        while (listed.GetProperty("request_count").GetInt64() < 20 && DateTime.UtcNow < deadline);

        Assert.Equal(20, listed.GetProperty("request_count").GetInt64());
        Assert.Equal(System.Text.Json.JsonValueKind.String, listed.GetProperty("last_used_at").ValueKind);
    }

    private async Task<string> AllStoredTextAsync()
    {
        var service = new TableServiceClient(_host.ConnectionString);
        var text = new System.Text.StringBuilder();
        await foreach (var table in service.QueryAsync(TableServiceClient.CreateQueryFilter($"TableName ge {_host.Prefix} and TableName lt {_host.Prefix + "~"}")))
        {
            await foreach (var entity in service.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                text.AppendLine(string.Join(' ', entity.Select(p => $"{p.Key}={p.Value}")));
            }
        }

        return text.ToString();
    }
}
