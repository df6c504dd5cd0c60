using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Xunit;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

/// <summary>
/// <c>scheduled_at</c>: the watch timer (every second here) starts a due campaign once across instances; before it
/// starts a campaign can be rescheduled or cancelled, and nothing is sent. Sends are counted at the loopback Graph API.
/// </summary>
public sealed class CampaignSchedulingTests : IAsyncLifetime
{
    private static readonly object Hello = new { name = "hello_world", language = "en_US" };

    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    private Dictionary<string, string?> Settings => new(_graph.Settings()) { ["CampaignWatchSchedule"] = "*/1 * * * * *" };

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _host = await TestHost.StartAsync(Settings);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    /// <summary>Contacts with new phones and <paramref name="tag"/>: their phones (as Meta gets them, no plus) by contact id.</summary>
    private static async Task<Dictionary<string, string>> PhonesAsync(Sender sender, int count, string tag)
    {
        var phones = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var phone = Sender.NewPhone();
            phones[await ContactAsync(sender, new { phone_number = phone, tags = new[] { tag } })] = phone.TrimStart('+');
        }

        return phones;
    }

    private List<JsonElement> SendsTo(IEnumerable<string> phones)
    {
        var wanted = phones.ToHashSet(StringComparer.Ordinal);
        return [.. _graph.Sends.Where(s => wanted.Contains(s.Body.GetProperty("to").GetString() ?? "")).Select(s => s.Body)];
    }

    [Fact]
    public async Task Due_campaign_is_started_once_by_two_instances()
    {
        var sender = await Sender.CloudAsync(_host, throughputMps: 40);
        await using var second = await TestHost.StartAsync(Settings, prefix: _host.Prefix);
        var phones = await PhonesAsync(sender, 20, "due");
        var at = Utc(DateTimeOffset.UtcNow.AddSeconds(3));

        var created = await CreateAsync(sender, new { name = "Due", template = Hello, audience = new { tags = new[] { "due" } }, scheduled_at = at });
        var id = Id(created);

        Assert.Equal("scheduled", created.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("started_at").ValueKind);
        JsonElement done;
        try
        {
            done = await WaitForStatusAsync(sender, id, "completed");
        }
        catch (TimeoutException ex)
        {
            // What the two instances' timers and steps said meanwhile.
            static string Said(TestHost host) => string.Join('\n', host.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning || e.Category.Contains("Campaign", StringComparison.Ordinal)).TakeLast(40));
            throw new TimeoutException(ex.Message + "\nfirst:\n" + Said(_host) + "\nsecond:\n" + Said(second), ex);
        }

        Assert.True(done.GetProperty("started_at").GetDateTimeOffset() >= DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture), done.ToString());
        var events = await OutboxAsync(sender, id);
        Assert.Equal(new[] { $"o_campaign_{id}_completed_0", $"o_campaign_{id}_started_0" }, events.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("campaign.started", events[$"o_campaign_{id}_started_0"].GetString("Event"));
        var sends = SendsTo(phones.Values);
        Assert.Equal(20, sends.Count);
        Assert.Equal(phones.Values.Order(StringComparer.Ordinal), sends.Select(s => s.GetProperty("to").GetString()!).Order(StringComparer.Ordinal));
        var recipients = await RecipientsAsync(sender, id);
        Assert.Equal(phones.Keys.Order(StringComparer.Ordinal), ContactIds(recipients));
        Assert.All(recipients, r => Assert.Equal(1, _graph.DeliveredPerMessage[r.GetProperty("message_id").GetString()!]));
        Assert.Equal(20, Stat(done, "sent"));
    }

    [Fact]
    public async Task Scheduled_campaign_can_be_rescheduled_and_cancelled_before_it_starts()
    {
        var sender = await Sender.CloudAsync(_host);
        var phones = await PhonesAsync(sender, 5, "later");
        var first = Utc(DateTimeOffset.UtcNow.AddHours(1));
        var second = Utc(DateTimeOffset.UtcNow.AddHours(2));

        var created = await CreateAsync(sender, new { name = "Later", template = Hello, audience = new { tags = new[] { "later" } }, scheduled_at = first });
        var id = Id(created);
        var moved = await Envelope.SuccessAsync(await PatchAsync(sender, id, new { scheduled_at = second }));
        var read = await GetAsync(sender, id);
        var cancelled = await Envelope.SuccessAsync(await ActAsync(sender, id, "cancel"));
        var cancelledAgain = await Envelope.SuccessAsync(await ActAsync(sender, id, "cancel"));
        var rescheduleAfter = await PatchAsync(sender, id, new { scheduled_at = Utc(DateTimeOffset.UtcNow) });
        var resumeAfter = await ActAsync(sender, id, "resume");
        var pauseAfter = await ActAsync(sender, id, "pause");

        Assert.Equal(("scheduled", first), (created.GetProperty("status").GetString(), Utc(created.GetProperty("scheduled_at").GetDateTimeOffset())));
        Assert.Equal(("scheduled", second), (moved.GetProperty("status").GetString(), Utc(moved.GetProperty("scheduled_at").GetDateTimeOffset())));
        Assert.Equal(("scheduled", second), (read.GetProperty("status").GetString(), Utc(read.GetProperty("scheduled_at").GetDateTimeOffset())));
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal("cancelled", cancelledAgain.GetProperty("status").GetString());
        await Envelope.ErrorAsync(rescheduleAfter, HttpStatusCode.Conflict, "invalid_campaign_state");
        await Envelope.ErrorAsync(resumeAfter, HttpStatusCode.Conflict, "invalid_campaign_state");
        await Envelope.ErrorAsync(pauseAfter, HttpStatusCode.Conflict, "invalid_campaign_state");

        // The cancel woke the campaign's steps; the last one finds nothing to do and drops it from the timer's list.
        await Eventually.WaitAsync(async () => (await StoredAsync(sender)).CampaignRows, rows => !rows.Any(r => r.StartsWith("~active/", StringComparison.Ordinal)), what: "the cancelled campaign left the active list");
        var final = await GetAsync(sender, id);
        Assert.Equal("cancelled", final.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, final.GetProperty("started_at").ValueKind);
        Assert.Equal(0, Stat(final, "total"));
        Assert.Empty(await RecipientsAsync(sender, id));
        Assert.Empty(SendsTo(phones.Values));
        Assert.Equal(0, (await Envelope.SuccessAsync(await sender.Api.GetAsync("messages"))).GetProperty("total").GetInt64());
        Assert.Equal(new[] { $"o_campaign_{id}_completed_0" }, (await OutboxAsync(sender, id)).Keys.ToList());
    }

    [Fact]
    public async Task Campaign_rescheduled_to_the_past_answers_running_even_when_the_timer_starts_it_first()
    {
        // The timer (every second here) races each PATCH: it may start the due campaign between the reschedule and the
        // request's own start. Whoever starts it, it starts once and the answer is what it is now: running (or done).
        var sender = await Sender.CloudAsync(_host);
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var body = i % 2 == 0
                ? (object)new { name = $"Past {i}", template = Hello, audience = new { tags = new[] { "nobody" } }, draft = true }
                : new { name = $"Past {i}", template = Hello, audience = new { tags = new[] { "nobody" } }, scheduled_at = Utc(DateTimeOffset.UtcNow.AddHours(1)) };
            ids.Add(Id(await CreateAsync(sender, body)));
        }

        var answers = await Task.WhenAll(ids.Select(async id => await Envelope.SuccessAsync(await PatchAsync(sender, id, new { scheduled_at = "2020-01-01T00:00:00Z" }))));

        Assert.All(answers, a => Assert.Contains(a.GetProperty("status").GetString(), new[] { "running", "completed" }));
        Assert.All(answers, a => Assert.Equal(JsonValueKind.String, a.GetProperty("started_at").ValueKind));
        foreach (var id in ids)
        {
            await WaitForStatusAsync(sender, id, "completed");
            Assert.Single((await OutboxAsync(sender, id)).Keys, k => k.Contains("_started_", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Draft_runs_only_once_given_a_time_and_a_running_campaign_cannot_be_rescheduled()
    {
        var sender = await Sender.CloudAsync(_host);
        var phones = await PhonesAsync(sender, 5, "draft");

        var draft = await CreateAsync(sender, new { name = "Draft", template = Hello, audience = new { tags = new[] { "draft" } }, draft = true });
        var id = Id(draft);
        var storedAsDraft = await StoredAsync(sender);
        var started = await Envelope.SuccessAsync(await PatchAsync(sender, id, new { scheduled_at = "2020-01-01T00:00:00Z" }));
        var again = await PatchAsync(sender, id, new { scheduled_at = Utc(DateTimeOffset.UtcNow.AddHours(1)) });

        Assert.Equal("draft", draft.GetProperty("status").GetString());
        Assert.DoesNotContain(storedAsDraft.CampaignRows, r => r.StartsWith("~active/", StringComparison.Ordinal));
        Assert.Equal("running", started.GetProperty("status").GetString());
        await Envelope.ErrorAsync(again, HttpStatusCode.Conflict, "invalid_campaign_state");
        var done = await WaitForStatusAsync(sender, id, "completed");
        Assert.Equal(5, Stat(done, "sent"));
        Assert.Equal(phones.Values.Order(StringComparer.Ordinal), SendsTo(phones.Values).Select(s => s.GetProperty("to").GetString()!).Order(StringComparer.Ordinal));
        await Envelope.ErrorAsync(await PatchAsync(sender, id, new { scheduled_at = Utc(DateTimeOffset.UtcNow.AddHours(1)) }), HttpStatusCode.Conflict, "invalid_campaign_state");
        await Envelope.ErrorAsync(await ActAsync(sender, id, "cancel"), HttpStatusCode.Conflict, "invalid_campaign_state");
    }
}
