using System.Globalization;
using System.Net;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.RateLimiting;

public sealed class RateLimitTests
{
    private static readonly Dictionary<string, string?> RealLimits = new()
    {
        ["RateLimiting:PerMinute"] = "100",
        ["RateLimiting:PerSecond"] = "10",
    };

    [Fact]
    public async Task Two_instances_hammered_together_admit_exactly_10_in_one_second()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var first = await TestHost.StartAsync(RealLimits, clock: clock);
        await using var second = await TestHost.StartAsync(RealLimits, prefix: first.Prefix, clock: clock);
        var api = await KeyClient.ForNewWorkspaceAsync(first);

        var statuses = await HammerAsync([api, api.On(second)], 40);

        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(30, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task Two_instances_admit_exactly_100_in_a_rolling_minute_and_more_once_it_rolls()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var first = await TestHost.StartAsync(RealLimits, clock: clock);
        await using var second = await TestHost.StartAsync(RealLimits, prefix: first.Prefix, clock: clock);
        var api = await KeyClient.ForNewWorkspaceAsync(first);
        KeyClient[] clients = [api, api.On(second)];

        var admitted = 0;
        for (var second_ = 0; second_ < 15; second_++)
        {
            admitted += (await HammerAsync(clients, 14)).Count(s => s == HttpStatusCode.OK);
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(100, admitted);
        clock.Advance(TimeSpan.FromSeconds(46));
        Assert.Equal(10, (await HammerAsync(clients, 14)).Count(s => s == HttpStatusCode.OK));
    }

    [Fact]
    public async Task Burst_of_25_simultaneous_requests_admits_at_most_10()
    {
        // Time stands still, so all 25 are in the same second however slowly this machine serves them.
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(RealLimits, clock: clock);
        var api = await KeyClient.ForNewWorkspaceAsync(host);
        clock.Advance(TimeSpan.FromSeconds(2));

        var statuses = await HammerAsync([api], 25);

        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.DoesNotContain(statuses, s => s is not (HttpStatusCode.OK or HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task Refused_requests_do_not_use_up_quota()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["RateLimiting:PerMinute"] = "20", ["RateLimiting:PerSecond"] = "10" }, clock: clock);
        var api = await KeyClient.ForNewWorkspaceAsync(host);

        var firstSecond = await HammerAsync([api], 40);
        clock.Advance(TimeSpan.FromSeconds(1));
        var nextSecond = await HammerAsync([api], 40);

        Assert.Equal(10, firstSecond.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(10, nextSecond.Count(s => s == HttpStatusCode.OK));
    }

    [Fact]
    public async Task Every_key_response_carries_the_rate_limit_headers_and_429_says_when_to_retry()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(RealLimits, clock: clock);
        var api = await KeyClient.ForNewWorkspaceAsync(host);

        var ok = await api.GetAsync("contacts");
        var notFound = await api.GetAsync("contacts/ct_000000000000000000000000");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("100", Header(ok, "X-RateLimit-Limit"));
        Assert.Equal("99", Header(ok, "X-RateLimit-Remaining"));
        Assert.Equal("98", Header(notFound, "X-RateLimit-Remaining"));
        var reset = long.Parse(Header(ok, "X-RateLimit-Reset"), CultureInfo.InvariantCulture);
        Assert.InRange(reset - clock.GetUtcNow().ToUnixTimeSeconds(), 59, 61);

        await HammerAsync([api], 20);
        var refused = await api.GetAsync("contacts");

        var body = await Envelope.ErrorAsync(refused, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.Equal("Rate limit exceeded. Try again in 1 seconds.", body.GetProperty("message").GetString());
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter!.Delta);
        Assert.Equal("100", Header(refused, "X-RateLimit-Limit"));
    }

    [Fact]
    public async Task Session_users_have_their_own_limit_apart_from_their_keys()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(RealLimits, clock: clock);
        var owner = await Infrastructure.Identity.SignUpAsync(host);
        var api = new KeyClient(host.Client, await owner.CreateKeyAsync());
        clock.Advance(TimeSpan.FromSeconds(1));

        await HammerAsync([api], 15);
        var session = await Task.WhenAll(Enumerable.Range(0, 15).Select(_ => owner.GetAsync("auth/me")));

        Assert.Equal(10, session.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal("100", Header(session.First(r => r.StatusCode == HttpStatusCode.OK), "X-RateLimit-Limit"));
    }

    [Fact]
    public async Task A_workspace_can_have_its_own_limits()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(RealLimits, clock: clock);
        var owner = await Infrastructure.Identity.SignUpAsync(host);
        var key = await owner.CreateKeyAsync();
        var settings = new Dictionary<string, string?>(RealLimits) { [$"RateLimiting:Workspaces:{owner.WorkspaceId}:PerSecond"] = "3" };
        await using var tuned = await TestHost.StartAsync(settings, prefix: host.Prefix, clock: clock);

        var statuses = await HammerAsync([new KeyClient(tuned.Client, key)], 10);

        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.OK));
    }

    private static async Task<HttpStatusCode[]> HammerAsync(KeyClient[] clients, int count)
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, count).Select(i => clients[i % clients.Length].GetAsync("contacts")));
        return [.. responses.Select(r => r.StatusCode)];
    }

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();
}
