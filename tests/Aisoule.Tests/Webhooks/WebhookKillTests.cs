using System.Net;
using System.Net.Http.Json;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Xunit;
using Xunit.Abstractions;
using static Aisoule.Tests.Webhooks.WebhookHelpers;

namespace Aisoule.Tests.Webhooks;

/// <summary>
/// Issue 16 point 2: restarts and crashes at any point lose nothing and never change an event's <c>webhook-id</c>. The
/// local host runs as its own process and is killed (SIGKILL) while deliveries hang at the receiver; a fresh process
/// delivers every event, each under the id it had.
/// </summary>
[Collection(Alone.Name)]
public sealed class WebhookKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Events = 30;
    private readonly string _prefix = TestHost.NewPrefix();
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await TestHost.DeleteStorageAsync(Azurite.ConnectionString, _prefix);
    }

    [Fact]
    public async Task Killing_the_host_mid_delivery_loses_no_event_and_keeps_every_webhook_id()
    {
        // The first process's attempts hang (so it dies with them in flight); the next one's are answered.
        var first = true;
        _receiver.OnRequest = (_, _) => first ? WebhookReceiver.Answer.Hanging() : WebhookReceiver.Answer.Ok();
        var server = await StartServerAsync();
        try
        {
            var signup = await server.Client.PostAsJsonAsync("auth/signup", new { email = Infrastructure.Identity.NewEmail(), password = Infrastructure.Identity.Password, name = "Asha", workspace_name = "Acme" });
            var data = await Envelope.SuccessAsync(signup, HttpStatusCode.Created);
            var cookie = signup.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("aisoule_session=", StringComparison.Ordinal)).Split(';')[0];
            var owner = new Account(server.Client, "", Infrastructure.Identity.Password, cookie, data.GetProperty("csrf_token").GetString()!, "", data.GetProperty("workspace").GetProperty("id").GetString()!);
            var key = await owner.CreateKeyAsync();
            KeyClient Api() => new(server.Client, key);
            await SubscribeAsync(Api(), _receiver.Url(), "contact.created");
            for (var i = 0; i < Events; i++)
            {
                await ContactAsync(Api());
            }

            var hung = await _receiver.WaitAsync(r => r.Count >= 3, seconds: 30, what: "attempts in flight");
            var before = hung.Select(r => r.Header("webhook-id")).ToHashSet();
            await server.KillAsync();
            output.WriteLine($"killed with {before.Count} attempts hanging at the receiver");

            first = false;
            server = await StartServerAsync();
            var got = await _receiver.WaitAsync(r => r.Skip(hung.Count).Select(x => x.Header("webhook-id")).Distinct().Count() >= Events, seconds: 120, what: $"all {Events} events after the restart");
            var answered = got.Skip(hung.Count).ToList();
            output.WriteLine($"{answered.Count} requests after the restart, {answered.Select(r => r.Header("webhook-id")).Distinct().Count()} distinct ids");

            Assert.Equal(Events, answered.Select(r => r.Header("webhook-id")).Distinct().Count());
            Assert.Equal(Events, answered.Select(r => Json(r).GetProperty("data").GetProperty("id").GetString()).Distinct().Count());
            Assert.Subset(answered.Select(r => r.Header("webhook-id")).ToHashSet(), before);
            Assert.All(answered, r => Assert.Equal(r.Header("webhook-id"), Json(r).GetProperty("id").GetString()));
        }
        catch
        {
            output.WriteLine(string.Join('\n', server.Output.Where(l => !l.StartsWith("      at ", StringComparison.Ordinal)).TakeLast(60)));
            throw;
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private Task<ServerProcess> StartServerAsync() => ServerProcess.StartAsync(_prefix, development: true, new Dictionary<string, string?>
    {
        ["Identity:SignupEnabled"] = "true",
        ["RateLimiting:PerMinute"] = "2000",
        ["RateLimiting:PerSecond"] = "2000",
        ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
        ["Webhooks:AllowPrivateTargets"] = "true",
        ["Webhooks:Timeout"] = "00:00:05",
        ["Webhooks:StrandedAfter"] = "00:00:02",
        ["OutboxSweepSchedule"] = "*/2 * * * * *",
    });
}
