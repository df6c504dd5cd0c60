using System.Globalization;
using System.Net;
using System.Text.Json;
using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

/// <summary>
/// Issue 15 points 5 and 7 at run time: a campaign on a Cloud API number against the loopback Graph fake, so every
/// send Meta would get is counted with its time. The fan-out keeps the sends queue shallow, leaves room for single
/// sends, stops on pause and cancel within about a second, and its stats stay equal to its recipient list.
/// </summary>
[Collection(Alone.Name)]
public sealed class CampaignFanoutTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>How late a send may still reach Meta after a pause or cancel was answered (the dispatcher's cached status is 250 ms old at most).</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(1.5);

    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _host = await TestHost.StartAsync(_graph.Settings());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task Sends_queue_never_holds_more_than_the_window()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 10);
        await ContactsAsync(sender, 150, ["wave"]);
        var queue = await _host.Services.GetRequiredService<StorageAccount>().GetQueueAsync(MessagingNames.SendsQueue);
        using var stop = new CancellationTokenSource();
        var depths = new List<int>();
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                depths.Add((await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
                await Task.Delay(100);
            }
        });

        var id = await StartAsync(sender, "wave");
        var done = await WaitForStatusAsync(sender, id, "completed", TimeSpan.FromSeconds(90));
        await stop.CancelAsync();
        await sampling;

        var sends = SendsOf(sender);
        output.WriteLine($"max sends-queue depth {depths.Max()} over {depths.Count} samples; {sends.Count} sends in {(sends[^1].At - sends[0].At).TotalSeconds:F1} s");
        Assert.True(depths.Max() <= (10 * 3) + 5, $"the sends queue held {depths.Max()} messages: {string.Join(",", depths)}");
        Assert.Equal(150, Stat(done, "total"));
        Assert.Equal(150, Stat(done, "sent"));
        AssertOncePerPhone(sends, 150);
    }

    [Fact]
    public async Task Single_send_goes_out_beside_a_running_campaign_on_the_same_number()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 10);
        await ContactsAsync(sender, 200, ["crowd"]);
        var id = await StartAsync(sender, "crowd");
        await Eventually.WaitAsync(() => Task.FromResult(SendsOf(sender).Count), n => n >= 20, TimeSpan.FromSeconds(60), "the campaign sending at full speed");

        var to = Sender.NewPhone();
        var accepted = DateTimeOffset.UtcNow;
        await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(to));
        var single = await Eventually.WaitAsync(() => Task.FromResult(SendsOf(sender).FirstOrDefault(s => s.Body.GetProperty("to").GetString() == to.TrimStart('+'))), s => s.Body.ValueKind != JsonValueKind.Undefined, TimeSpan.FromSeconds(30), "the single send at Meta");

        var campaignSendsBefore = SendsOf(sender).Count(s => s.At < single.At && s.Body.GetProperty("to").GetString() != to.TrimStart('+'));
        output.WriteLine($"single send reached Meta {(single.At - accepted).TotalSeconds:F2} s after it was accepted, with {campaignSendsBefore} campaign sends before it");
        Assert.True(single.At - accepted <= TimeSpan.FromSeconds(4.5), $"the single send waited {(single.At - accepted).TotalSeconds:F2} s behind the campaign");
        Assert.True(Stat(await GetAsync(sender, id), "queued") > 0, "the campaign was still running when the single send went");
        await Envelope.SuccessAsync(await sender.Api.PostAsync($"campaigns/{id}/cancel", new { }));
    }

    [Fact]
    public async Task Pause_stops_sends_within_about_a_second_and_resume_continues()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 10);
        await ContactsAsync(sender, 80, ["pause"]);
        var id = await StartAsync(sender, "pause");
        await Eventually.WaitAsync(() => Task.FromResult(SendsOf(sender).Count), n => n >= 15, TimeSpan.FromSeconds(60), "the campaign sending");

        var paused = await Envelope.SuccessAsync(await sender.Api.PostAsync($"campaigns/{id}/pause", new { }));
        var pausedAt = DateTimeOffset.UtcNow;
        Assert.Equal("paused", paused.GetProperty("status").GetString());

        // The pause is held for four seconds (forty sends' worth at 10/s), then lifted; what went meanwhile is judged after the end.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var resumed = await Envelope.SuccessAsync(await sender.Api.PostAsync($"campaigns/{id}/resume", new { }));
        var resumedAt = DateTimeOffset.UtcNow;
        Assert.Equal("running", resumed.GetProperty("status").GetString());
        var done = await WaitForStatusAsync(sender, id, "completed", TimeSpan.FromSeconds(90));

        var sends = SendsOf(sender);
        var beforePause = sends.Where(s => s.At <= pausedAt).ToList();
        var duringPause = sends.Where(s => s.At > pausedAt && s.At < resumedAt).ToList();
        var lastAfterPause = duringPause.Count == 0 ? TimeSpan.Zero : duringPause.Max(s => s.At) - pausedAt;
        output.WriteLine($"{beforePause.Count} sends before the pause, {duringPause.Count} during it, the last {lastAfterPause.TotalMilliseconds:F0} ms after it was answered; first after resume {(sends.Where(s => s.At >= resumedAt).Min(s => s.At) - resumedAt).TotalMilliseconds:F0} ms");
        Assert.True(beforePause.Count < 80, "paused mid-way");
        Assert.True(lastAfterPause <= StopBound, $"a send reached Meta {lastAfterPause.TotalSeconds:F2} s after the pause was answered");
        Assert.Equal(80, Stat(done, "sent"));
        AssertOncePerPhone(sends, 80);
    }

    [Fact]
    public async Task Cancel_leaves_unsent_recipients_cancelled()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 10);
        await ContactsAsync(sender, 120, ["cancel"]);
        var id = await StartAsync(sender, "cancel");
        await Eventually.WaitAsync(() => Task.FromResult(SendsOf(sender).Count), n => n >= 15, TimeSpan.FromSeconds(60), "the campaign sending");

        var cancelled = await Envelope.SuccessAsync(await sender.Api.PostAsync($"campaigns/{id}/cancel", new { }));
        var cancelledAt = DateTimeOffset.UtcNow;
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());

        // Nothing is left to go once no recipient is pending or queued: every one is sent, failed or cancelled.
        var settled = await Eventually.WaitAsync(() => GetAsync(sender, id), c => Stat(c, "queued") == 0, TimeSpan.FromSeconds(60), "no recipient pending or queued");
        var recipients = await RecipientsAsync(sender, id);
        var sends = SendsOf(sender);
        var last = sends.Max(s => s.At) - cancelledAt;
        output.WriteLine($"{sends.Count(s => s.At <= cancelledAt)} sends before the cancel, {sends.Count(s => s.At > cancelledAt)} after, the last {last.TotalMilliseconds:F0} ms after it was answered; stats {settled.GetProperty("stats")}");

        Assert.True(last <= StopBound, $"a send reached Meta {last.TotalSeconds:F2} s after the cancel was answered");
        Assert.Equal("cancelled", settled.GetProperty("status").GetString());
        Assert.Equal(120, Stat(settled, "total"));
        Assert.Equal(Stat(settled, "total"), Stat(settled, "sent") + Stat(settled, "cancelled") + Stat(settled, "failed"));
        Assert.True(Stat(settled, "cancelled") > 0, "some recipients were never sent");
        Assert.Equal(Stat(settled, "sent"), sends.Count);
        AssertStatsMatch(settled, recipients);
        var sentIds = sends.Select(MessageIdOf).ToHashSet();
        var cancelledOnes = recipients.Where(r => r.GetProperty("status").GetString() == "cancelled").ToList();
        Assert.All(cancelledOnes, r => Assert.False(r.GetProperty("message_id").GetString() is { } m && sentIds.Contains(m), $"cancelled recipient {r} was sent"));
        AssertOncePerPhone(sends, sends.Count);
    }

    [Fact]
    public async Task Stats_equal_recipient_counts_under_concurrent_duplicate_status_webhooks()
    {
        const int N = 40;
        var sender = await Sender.CloudAsync(_host, throughputMps: 80);
        await ContactsAsync(sender, N, ["hooks"]);
        var id = await StartAsync(sender, "hooks");
        await WaitForStatusAsync(sender, id, "completed", TimeSpan.FromSeconds(60));
        var sends = SendsOf(sender);
        Assert.Equal(N, sends.Count);

        // Meta delivers each status at least once and in no set order: every one twice, all at once, shuffled.
        var hooks = sends.SelectMany(s => new[] { "sent", "delivered", "read" }.SelectMany(status => Enumerable.Repeat(
            MetaWebhook.Status(sender.PhoneNumberId, s.Wamid!, status, callback: s.Body.GetProperty("biz_opaque_callback_data").GetString()), 2))).ToList();
        Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(hooks));
        var answers = await Task.WhenAll(hooks.Select(h => MetaWebhook.PostAsync(_host.Client, h)));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));

        var read = await Eventually.WaitAsync(() => GetAsync(sender, id), c => Stat(c, "read") == N, TimeSpan.FromSeconds(60), "every recipient read");
        var recipients = await RecipientsAsync(sender, id);
        var final = await GetAsync(sender, id);
        output.WriteLine($"stats after {hooks.Count} webhooks: {final.GetProperty("stats")}");
        Assert.Equal(N, Stat(read, "total"));
        Assert.Equal(N, Stat(final, "read"));
        Assert.All(recipients, r => Assert.Equal("read", r.GetProperty("status").GetString()));
        AssertStatsMatch(final, recipients);
    }

    [Fact]
    public async Task Messages_a_dead_instance_took_off_the_queue_are_sent_once_when_the_campaign_stalls()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 10);
        await ContactsAsync(sender, 20, ["lost"]);
        var queue = await _host.Services.GetRequiredService<StorageAccount>().GetQueueAsync(MessagingNames.SendsQueue);
        var id = await StartAsync(sender, "lost");

        // An instance that dies holding queue messages: they stay invisible for the queue's 10-minute lease.
        var taken = 0;
        while (taken < 5)
        {
            taken += (await queue.ReceiveMessagesAsync(5 - taken, TimeSpan.FromMinutes(10))).Value.Length;
        }

        var done = await WaitForStatusAsync(sender, id, "completed", TimeSpan.FromSeconds(90));
        var sends = SendsOf(sender);
        output.WriteLine($"{taken} queue messages taken; completed {(done.GetProperty("completed_at").GetDateTimeOffset() - done.GetProperty("started_at").GetDateTimeOffset()).TotalSeconds:F0} s after the start");
        Assert.Equal(20, Stat(done, "sent"));
        AssertOncePerPhone(sends, 20);
    }

    private static async Task<string> StartAsync(Sender sender, string tag)
    {
        var created = await CreateAsync(sender, new { name = "Fan-out " + tag, template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { tag } } });
        return created.GetProperty("id").GetString()!;
    }

    /// <summary>The sends Meta got for <paramref name="sender"/>'s workspace, in arrival order.</summary>
    private List<(JsonElement Body, string? Wamid, DateTimeOffset At)> SendsOf(Sender sender) =>
        [.. _graph.Sends.Where(s => s.Body.GetProperty("biz_opaque_callback_data").GetString()!.StartsWith(sender.Owner.WorkspaceId + " ", StringComparison.Ordinal)).OrderBy(s => s.At)];

    private static string MessageIdOf((JsonElement Body, string? Wamid, DateTimeOffset At) send) => send.Body.GetProperty("biz_opaque_callback_data").GetString()!.Split(' ')[1];

    private static void AssertOncePerPhone(List<(JsonElement Body, string? Wamid, DateTimeOffset At)> sends, int expected)
    {
        var perPhone = sends.GroupBy(s => s.Body.GetProperty("to").GetString()).ToList();
        Assert.Equal(expected, perPhone.Count);
        Assert.All(perPhone, g => Assert.True(g.Count() == 1, $"{g.Key} got {g.Count()} sends"));
    }

    private static void AssertStatsMatch(JsonElement campaign, List<JsonElement> recipients)
    {
        var byStatus = recipients.GroupBy(r => r.GetProperty("status").GetString()!).ToDictionary(g => g.Key, g => (long)g.Count());
        long Of(string status) => byStatus.GetValueOrDefault(status);
        Assert.Equal(recipients.Count, Stat(campaign, "total"));
        Assert.Equal(Of("pending") + Of("queued"), Stat(campaign, "queued"));
        foreach (var status in new[] { "sent", "delivered", "read", "failed", "skipped", "cancelled" })
        {
            Assert.True(Of(status) == Stat(campaign, status), string.Create(CultureInfo.InvariantCulture, $"{status}: stats {Stat(campaign, status)}, recipients {Of(status)}"));
        }
    }
}
