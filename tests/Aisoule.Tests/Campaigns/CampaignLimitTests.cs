using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Aisoule.Core.Campaigns;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

/// <summary>Meta's limits and the failures a campaign meets: slowing down, the messaging-limit tier, retry by category.</summary>
[Collection(Alone.Name)]
public sealed class CampaignLimitTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        var settings = _graph.Settings();
        settings["WhatsApp:MaxAttempts"] = "2";
        _host = await TestHost.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    private static string To(JsonElement body) => body.GetProperty("to").GetString()!;

    [Fact]
    public async Task Throughput_and_pair_rate_errors_slow_a_campaign_without_spending_its_attempts()
    {
        var sender = await Sender.CloudAsync(_host);
        await ContactsAsync(sender, 8, ["slow"]);
        // Every recipient is refused three times (130429 or 131056) before Meta takes it; two attempts would fail it.
        var refusals = new ConcurrentDictionary<string, int>();
        _graph.OnSend = (_, body) => refusals.AddOrUpdate(To(body), 1, (_, n) => n + 1) <= 3
            ? (To(body).EndsWith('1') ? FakeGraphApi.Reply.MetaError(400, 131056, "Pair rate limit hit") : FakeGraphApi.Reply.TooManyRequests(1))
            : FakeGraphApi.Reply.Ok();

        var id = (await CreateAsync(sender, new { name = "Slow", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "slow" } } })).GetProperty("id").GetString()!;

        var done = await WaitForStatusAsync(sender, id, "completed", TimeSpan.FromSeconds(90));
        Assert.Equal(8, Stat(done, "sent") + Stat(done, "delivered") + Stat(done, "read"));
        Assert.Equal(0, Stat(done, "failed"));
        Assert.All(refusals.Values, n => Assert.Equal(4, n));
    }

    [Fact]
    public async Task Reaching_the_messaging_limit_pauses_the_campaign_until_the_window_frees_and_a_manual_pause_never_resumes_itself()
    {
        var sender = await Sender.CloudAsync(_host);
        _graph.MessagingLimit = "TIER_250";
        await ContactsAsync(sender, 260, ["tier"]);

        var id = (await CreateAsync(sender, new { name = "Tier", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "tier" } } })).GetProperty("id").GetString()!;

        var paused = await WaitForStatusAsync(sender, id, "paused", TimeSpan.FromSeconds(60));
        Assert.Equal("messaging_limit", paused.GetProperty("pause_reason").GetString());
        Assert.Equal(250, paused.GetProperty("messaging_limit").GetProperty("cap").GetInt32());
        Assert.True(paused.GetProperty("resume_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(22));
        int Sent() => _graph.Sends.Where(s => s.Wamid is not null).Select(s => To(s.Body)).Distinct().Count();
        await Eventually.WaitAsync(() => Task.FromResult(Sent()), n => n >= 250, TimeSpan.FromSeconds(30), "the 250 the tier allows sent");
        await Task.Delay(1500);
        Assert.Equal(250, Sent());

        // The window frees: the ledger's hours have passed and resume_at has come. The timer resumes it; the rest go.
        var services = _host.Services;
        var store = services.GetRequiredService<CampaignStore>();
        await store.ChangeAsync(sender.Owner.WorkspaceId, id, c =>
        {
            c.ResumeAt = DateTimeOffset.UtcNow.AddSeconds(-1);
            return true;
        });
        var reach = await services.GetRequiredService<Core.Storage.StorageAccount>().GetTableAsync(CampaignNames.Reach);
        await foreach (var row in reach.QueryAsync<Azure.Data.Tables.TableEntity>(select: ["PartitionKey", "RowKey"]))
        {
            await reach.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        }

        await services.GetRequiredService<CampaignWatcher>().WatchAsync();
        var done = await WaitForStatusAsync(sender, id, "completed", TimeSpan.FromSeconds(60));
        Assert.Equal(260, Stat(done, "total"));
        Assert.Equal(260, _graph.Sends.Where(s => s.Wamid is not null).Select(s => To(s.Body)).Distinct().Count());

        // A manual pause whose time would have come is not resumed by the timer.
        _graph.MessagingLimit = "TIER_UNLIMITED";
        await ContactsAsync(sender, 30, ["manual"]);
        _graph.OnSend = (_, _) => FakeGraphApi.Reply.Ok() with { Delay = TimeSpan.FromMilliseconds(200) };
        var second = (await CreateAsync(sender, new { name = "Manual", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "manual" } } })).GetProperty("id").GetString()!;
        await Envelope.SuccessAsync(await sender.Api.PostAsync($"campaigns/{second}/pause", new { }));
        await services.GetRequiredService<CampaignWatcher>().WatchAsync();
        await Task.Delay(1500);
        var still = await GetAsync(sender, second);
        Assert.Equal("paused", still.GetProperty("status").GetString());
        Assert.Equal("manual", still.GetProperty("pause_reason").GetString());
    }

    [Fact]
    public async Task Retry_sends_again_only_to_the_asked_categories_never_to_a_recipient_meta_accepted_and_a_second_retry_meanwhile_is_409()
    {
        var sender = await Sender.CloudAsync(_host);
        var ids = await ContactsAsync(sender, 12, ["retry"]);
        // First round: numbers ending in 1-3 are invalid (131026), 4-6 meet server errors (retryable), the rest go.
        static int Last(JsonElement body) => To(body)[^1] - '0';
        var round = 1;
        _graph.OnSend = (_, body) => round == 1 && Last(body) is >= 1 and <= 3 ? FakeGraphApi.Reply.MetaError(400, 131026, "Message undeliverable")
            : round == 1 && Last(body) is >= 4 and <= 6 ? FakeGraphApi.Reply.ServerError()
            : FakeGraphApi.Reply.Ok();

        var id = (await CreateAsync(sender, new { name = "Retry", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "retry" } } })).GetProperty("id").GetString()!;
        var first = await WaitForStatusAsync(sender, id, "completed", TimeSpan.FromSeconds(60));
        var failed = await RecipientsAsync(sender, id, "&status=failed");
        var invalid = failed.Count(r => r.GetProperty("error").GetProperty("category").GetString() == "recipient_invalid");
        var retryable = failed.Count(r => r.GetProperty("error").GetProperty("category").GetString() == "retryable");
        Assert.Equal(invalid + retryable, Stat(first, "failed"));
        Assert.Equal(retryable, (await RecipientsAsync(sender, id, "&category=retryable")).Count);
        var sendsBefore = _graph.Sends.Count;

        round = 2;
        var answers = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => sender.Api.PostAsync($"campaigns/{id}/retry", new { categories = new[] { "retryable" } })));
        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.OK);
        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, a.StatusCode.ToString()));

        var second = await Eventually.WaitAsync(() => GetAsync(sender, id), c => c.GetProperty("status").GetString() == "completed" && c.GetProperty("round").GetInt32() >= 1, TimeSpan.FromSeconds(60), "retry round completed");
        var resent = _graph.Sends.Skip(sendsBefore).Select(s => To(s.Body)).ToList();
        Assert.Equal(retryable, resent.Count);
        Assert.All(resent, to => Assert.InRange(to[^1] - '0', 4, 6));
        Assert.Equal(invalid, Stat(second, "failed"));
        Assert.Equal(ids.Count, Stat(second, "total"));
    }
}
