using System.Diagnostics;
using System.Globalization;
using System.Net;
using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// Issue 14: a campaign's replies arrive together. 500 messages from 500 people the workspace has never seen, posted
/// at once through the signed webhook, become 500 contacts with exact totals and 500 stored messages, with no 5xx and
/// the inbound queue drained within <see cref="DrainBound"/>.
/// </summary>
[Collection(Alone.Name)]
public sealed class InboundBurstTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int People = 500;

    /// <summary>
    /// The stated bound for draining the burst, from the first webhook posted to the queue empty and every reply stored.
    /// On this machine (2 cores, the suite's Azurite, nothing else running) it takes about 5 s; the bound leaves room for
    /// a slower CI machine. The figures, before and after sharding the counters, are in the issue notes.
    /// </summary>
    private static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(60);

    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:SandboxStatusDelay"] = "00:10:00" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Five_hundred_replies_from_new_users_posted_at_once_end_as_500_contacts_with_exact_totals_and_a_drained_queue()
    {
        var sender = await Sender.SandboxAsync(_host);
        var people = Enumerable.Range(0, People).Select(i => (Phone: "1650555" + i.ToString("D4", CultureInfo.InvariantCulture), UserId: MetaWebhook.NewUserId())).ToList();

        var burst = Stopwatch.StartNew();
        var answers = await Task.WhenAll(people.Select(p => MetaWebhook.PostAsync(_host.Client, MetaWebhook.Change(sender.PhoneNumberId, Reply(p.Phone, p.UserId)))));
        var answered = burst.Elapsed;

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        var storage = _host.Services.GetRequiredService<StorageAccount>();
        var inbound = await storage.GetQueueAsync(MessagingNames.InboundQueue);
        var poison = await storage.GetQueueAsync(MessagingNames.InboundQueue + "-poison");
        await Eventually.WaitAsync(
            async () => ((await sender.EventsAsync("message.incoming")).Count, (await inbound.GetPropertiesAsync()).Value.ApproximateMessagesCount),
            s => s.Item1 == People && s.Item2 == 0,
            timeout: DrainBound > burst.Elapsed ? DrainBound - burst.Elapsed : TimeSpan.Zero,
            what: "every reply stored and the inbound queue empty");
        output.WriteLine($"{People} replies: every webhook answered in {answered.TotalSeconds:F1} s, all stored and the queue empty {burst.Elapsed.TotalSeconds:F1} s after the first was posted");

        Assert.Equal(0, (await poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Equal(People, (await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts?per_page=1"))).GetProperty("total").GetInt64());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var page = 1; page <= 5; page++)
        {
            foreach (var contact in (await Envelope.SuccessAsync(await sender.Api.GetAsync($"contacts?per_page=100&page={page}"))).GetProperty("contacts").EnumerateArray())
            {
                seen.Add(contact.GetProperty("phone_number").GetString() + " " + contact.GetProperty("wa_user_id").GetString());
            }
        }

        Assert.Equal(people.Select(p => "+" + p.Phone + " " + p.UserId).ToHashSet(StringComparer.Ordinal), seen);
    }

    private static string Reply(string phone, string userId) => $$$"""
        {"contacts":[{"profile":{"name":"Reply {{{phone}}}"},"wa_id":"{{{phone}}}","user_id":"{{{userId}}}"}],
         "messages":[{"from":"{{{phone}}}","from_user_id":"{{{userId}}}","id":"{{{MetaWebhook.NewWamid()}}}","timestamp":"1749416383",
           "type":"text","text":{"body":"Yes please, tell me more."}}]}
        """;
}
