using System.Net;
using Aisoule.Core.Identity;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Probes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Identity;

/// <summary>
/// Issue 19: a GET from credentials this instance has seen working runs beside its admission (the key row's
/// conditional write, or the session read and the user's rate write) instead of after it; the answer waits for the
/// admission, and a request not admitted gets the refusal and nothing of what was read. Tables go through
/// <see cref="LossyTableProxy"/>, which holds the admitting write until the function's read arrives: one after the
/// other, that read could never arrive, so being in flight together is proven without timing anything.
/// </summary>
public sealed class ReadAheadTests : IAsyncLifetime
{
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(10);

    private LossyTableProxy _proxy = null!;
    private TestHost _host = null!;
    private Account _owner = null!;
    private string _key = null!;
    private string _contactId = null!;

    public async Task InitializeAsync()
    {
        _proxy = await LossyTableProxy.StartAsync();
        _host = await TestHost.StartAsync(connectionString: _proxy.ConnectionString);
        _owner = await Infrastructure.Identity.SignUpAsync(_host);
        _key = await _owner.CreateKeyAsync();
        var created = await Envelope.SuccessAsync(await SendWithKeyAsync(HttpMethod.Post, "contacts", new { phone_number = "+14155550101", name = "Ada Secretname" }), HttpStatusCode.Created);
        _contactId = created.GetProperty("id").GetString()!;
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _proxy.DisposeAsync();
    }

    [Fact]
    public async Task A_keyed_read_of_one_contact_and_its_admitting_write_are_in_flight_at_once()
    {
        var released = _proxy.HoldUntil(Write(IdentityTables.ApiKeys), Read("contacts("), GiveUp);

        var contact = await Envelope.SuccessAsync(await SendWithKeyAsync(HttpMethod.Get, $"contacts/{_contactId}"));

        Assert.True(await released, "the contact read never arrived while the key's admitting write was held");
        Assert.Equal("Ada Secretname", contact.GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_keyed_first_page_of_contacts_and_its_admitting_write_are_in_flight_at_once()
    {
        var released = _proxy.HoldUntil(Write(IdentityTables.ApiKeys), Read("contacts()"), GiveUp);

        var page = await Envelope.SuccessAsync(await SendWithKeyAsync(HttpMethod.Get, "contacts?per_page=20"));

        Assert.True(await released, "the contacts query never arrived while the key's admitting write was held");
        Assert.Equal("Ada Secretname", page.GetProperty("contacts")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_session_read_and_its_admission_are_in_flight_at_once()
    {
        await Envelope.SuccessAsync(await _owner.GetAsync("auth/me"));
        var released = _proxy.HoldUntil(Write("ratelimits"), Read("contacts("), GiveUp);

        await Envelope.SuccessAsync(await _owner.GetAsync($"contacts/{_contactId}"));

        Assert.True(await released, "the contact read never arrived while the user's admitting write was held");
    }

    [Fact]
    public async Task Credentials_this_instance_has_not_seen_are_admitted_before_the_read_starts()
    {
        var fresh = await _owner.CreateKeyAsync("new");
        var released = _proxy.HoldUntil(Write(IdentityTables.ApiKeys), Read("contacts("), TimeSpan.FromSeconds(1));

        await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, $"contacts/{_contactId}", fresh)));

        Assert.False(await released, "an unknown key's read started before its admission");
    }

    [Fact]
    public async Task A_write_is_admitted_before_it_starts()
    {
        var released = _proxy.HoldUntil(Write(IdentityTables.ApiKeys), Read("contacts("), TimeSpan.FromSeconds(1));

        await Envelope.SuccessAsync(await SendWithKeyAsync(HttpMethod.Put, $"contacts/{_contactId}", new { phone_number = "+14155550101", name = "Ada Lovelace" }));

        Assert.False(await released, "a PUT read its contact before its admission");
    }

    [Fact]
    public async Task A_key_revoked_on_another_instance_gets_401_and_nothing_of_what_its_read_found()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix, connectionString: _proxy.ConnectionString);
        var keyId = (await Envelope.SuccessAsync(await SendWithKeyAsync(HttpMethod.Get, "auth/me"))).GetProperty("key").GetProperty("id").GetString();
        await Envelope.SuccessAsync(await (_owner with { Client = other.Client }).SendAsync(HttpMethod.Delete, $"keys/{keyId}"));
        var reads = ContactReads();

        var response = await SendWithKeyAsync(HttpMethod.Get, $"contacts/{_contactId}");

        await Envelope.ErrorAsync(response, HttpStatusCode.Unauthorized, "key_revoked");
        Assert.True(ContactReads() > reads, "the read did not run ahead, so this test proves nothing");
        Assert.DoesNotContain("Secretname", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("Secretname", _host.Logs.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_logged_out_on_another_instance_gets_401_and_nothing_of_what_its_read_found()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix, connectionString: _proxy.ConnectionString);
        await Envelope.SuccessAsync(await _owner.GetAsync($"contacts/{_contactId}"));
        await Envelope.SuccessAsync(await (_owner with { Client = other.Client }).SendAsync(HttpMethod.Post, "auth/logout"));
        var reads = ContactReads();

        var response = await _owner.GetAsync($"contacts/{_contactId}");

        await Envelope.ErrorAsync(response, HttpStatusCode.Unauthorized, "session_expired");
        Assert.True(ContactReads() > reads, "the read did not run ahead, so this test proves nothing");
        Assert.DoesNotContain("Secretname", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_read_over_the_rate_limit_another_instance_used_up_gets_429_and_nothing_of_what_it_found()
    {
        var limits = new Dictionary<string, string?> { ["RateLimiting:PerSecond"] = "2", ["RateLimiting:PerMinute"] = "2" };
        await using var limited = await TestHost.StartAsync(limits, prefix: _host.Prefix, connectionString: _proxy.ConnectionString);
        await using var other = await TestHost.StartAsync(limits, prefix: _host.Prefix, connectionString: _proxy.ConnectionString);
        var key = await _owner.CreateKeyAsync("limited");
        await Envelope.SuccessAsync(await limited.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, $"contacts/{_contactId}", key)));
        await Envelope.SuccessAsync(await other.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, $"contacts/{_contactId}", key)));
        var reads = ContactReads();

        // This instance last saw one request of two: it reads ahead, and the admission finds the second used.
        var response = await limited.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, $"contacts/{_contactId}", key));

        await Envelope.ErrorAsync(response, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.True(ContactReads() > reads, "the read did not run ahead, so this test proves nothing");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("0", response.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.DoesNotContain("Secretname", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_this_instance_saw_at_its_rate_limit_is_refused_without_reading()
    {
        var limits = new Dictionary<string, string?> { ["RateLimiting:PerSecond"] = "1", ["RateLimiting:PerMinute"] = "1" };
        await using var limited = await TestHost.StartAsync(limits, prefix: _host.Prefix, connectionString: _proxy.ConnectionString);
        var key = await _owner.CreateKeyAsync("limited");
        await Envelope.SuccessAsync(await limited.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, $"contacts/{_contactId}", key)));
        var reads = ContactReads();

        await Envelope.ErrorAsync(await limited.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, $"contacts/{_contactId}", key)), HttpStatusCode.TooManyRequests, "rate_limited");

        Assert.Equal(reads, ContactReads());
    }

    [Fact]
    public async Task A_get_that_writes_while_reading_ahead_writes_nothing_then_and_exactly_once_when_admitted()
    {
        _host.WritesAheadExpected = true;

        var answer = await Envelope.SuccessAsync(await ProbeAsync("write-admitted", write: true));

        Assert.Equal(Roles.Owner, answer.GetProperty("role").GetString());
        Assert.Equal(2, ProbeFunctions.ReadAheadRuns["write-admitted"].Count);
        Assert.Equal(1, await ProbeRowsAsync("write-admitted"));
        Assert.Contains(_host.Logs.Entries, e => e.Message.Contains(TestHost.WroteAhead, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_get_that_writes_while_reading_ahead_for_a_key_revoked_meanwhile_writes_nothing_at_all()
    {
        _host.WritesAheadExpected = true;
        await RevokeBehindThisInstanceAsync();

        await Envelope.ErrorAsync(await ProbeAsync("write-revoked", write: true), HttpStatusCode.Unauthorized, "key_revoked");

        Assert.Single(ProbeFunctions.ReadAheadRuns["write-revoked"]);
        Assert.Equal(0, await ProbeRowsAsync("write-revoked"));
    }

    [Fact]
    public async Task A_caller_changed_since_this_instance_saw_it_runs_again_as_the_caller_admitted()
    {
        await ChangeKeyBehindThisInstanceAsync(row => row.Role = Roles.Admin);

        var answer = await Envelope.SuccessAsync(await ProbeAsync("changed", write: false));

        Assert.Equal(Roles.Admin, answer.GetProperty("role").GetString());
        Assert.Equal([Roles.Owner, Roles.Admin], ProbeFunctions.ReadAheadRuns["changed"]);
    }

    [Fact]
    public async Task A_get_that_only_reads_runs_once()
    {
        await Envelope.SuccessAsync(await ProbeAsync("once", write: false));

        Assert.Single(ProbeFunctions.ReadAheadRuns["once"]);
    }

    private StorageAccount Storage => _host.Services.GetRequiredService<StorageAccount>();

    private static Func<string, string, string, bool> Write(string table) =>
        (method, path, _) => method is "PUT" or "MERGE" or "PATCH" && path.Contains(table + "(", StringComparison.Ordinal);

    private static Func<string, string, string, bool> Read(string target) =>
        (method, path, _) => method == "GET" && path.Contains(target, StringComparison.Ordinal);

    private int ContactReads() => _proxy.Requests.Count(r => r.Method == "GET" && r.Path.Contains("contacts(", StringComparison.Ordinal));

    private Task<HttpResponseMessage> SendWithKeyAsync(HttpMethod method, string path, object? body = null) =>
        _host.Client.SendAsync(Infrastructure.Identity.WithKey(method, path, _key, body));

    private Task RevokeBehindThisInstanceAsync() => ChangeKeyBehindThisInstanceAsync(row => row.RevokedAt = DateTimeOffset.UtcNow);

    // The key's row changed behind this instance's back, as a write on another instance leaves it.
    private async Task ChangeKeyBehindThisInstanceAsync(Action<ApiKeyEntity> change)
    {
        var keyId = (await Envelope.SuccessAsync(await SendWithKeyAsync(HttpMethod.Get, "auth/me"))).GetProperty("key").GetProperty("id").GetString()!;
        var keys = await Storage.GetTableAsync(IdentityTables.ApiKeys);
        var row = (await keys.GetEntityAsync<ApiKeyEntity>(_owner.WorkspaceId, keyId)).Value;
        change(row);
        await keys.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
    }

    private Task<HttpResponseMessage> ProbeAsync(string probe, bool write)
    {
        var request = Infrastructure.Identity.WithKey(HttpMethod.Get, "probe/read-ahead" + (write ? "?write=true" : ""), _key);
        request.Headers.Add("X-Probe", probe);
        return _host.Client.SendAsync(request);
    }

    private async Task<int> ProbeRowsAsync(string probe)
    {
        var table = await Storage.GetTableAsync("probe");
        var rows = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {probe}")))
        {
            rows++;
        }

        return rows;
    }
}
