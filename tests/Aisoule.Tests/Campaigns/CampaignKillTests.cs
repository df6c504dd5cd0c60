using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Xunit;
using Xunit.Abstractions;

namespace Aisoule.Tests.Campaigns;

/// <summary>
/// Issue 15 point 5: a crash at any point resumes where it stopped, and each recipient's send is created once. The
/// local host runs as its own process over a shared prefix and is killed (SIGKILL: no shutdown code runs) while the
/// campaign plans and while it fans out; a fresh process takes over each time.
/// </summary>
[Collection(Alone.Name)]
public sealed class CampaignKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Contacts = 600;

    /// <summary>A restarted host finds a stalled campaign with its watch timer (every 5 s, stalled after 10 s) once a killed step's 30 s lease has run out.</summary>
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(90);

    private readonly string _prefix = TestHost.NewPrefix();
    private FakeGraphApi _graph = null!;

    public async Task InitializeAsync() => _graph = await FakeGraphApi.StartAsync();

    public async Task DisposeAsync()
    {
        await _graph.DisposeAsync();
        await TestHost.DeleteStorageAsync(Azurite.ConnectionString, _prefix);
    }

    [Fact]
    public async Task Killing_the_host_mid_campaign_resumes_with_at_most_one_message_per_contact()
    {
        var server = await StartServerAsync();
        try
        {
            var api = await WorkspaceAsync(server);
            var id = (await Envelope.SuccessAsync(await api(server).PostAsync("campaigns", new { name = "Crash", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "crash" } } }), HttpStatusCode.Created))
                .GetProperty("id").GetString()!;

            // While it plans (as soon as it has written some of the recipient list), then twice while it fans out.
            int planned;
            while ((planned = await RecipientRowsAsync(id)) == 0)
            {
                await Task.Delay(10);
            }

            await server.KillAsync();
            output.WriteLine($"killed while planning: {planned} recipient rows seen, {await RecipientRowsAsync(id)} written, {_graph.Sends.Count} sends");
            server = await StartServerAsync();
            foreach (var at in new[] { Random.Shared.Next(60, 200), Random.Shared.Next(300, 450) })
            {
                await Eventually.WaitAsync(() => Task.FromResult(_graph.Sends.Count), n => n >= at, ResumeBound, $"{at} sends");
                output.WriteLine($"kill at {_graph.Sends.Count} sends; {await SendingAsync()} messages claimed");
                await server.KillAsync();
                server = await StartServerAsync();
            }

            var done = await Eventually.WaitAsync(() => CampaignAsync(api(server), id), c => c.GetProperty("status").GetString() == "completed", ResumeBound * 2, "campaign completed");
            var recipients = await RecipientsAsync(api(server), id);
            var sends = _graph.Sends.ToList();
            var perPhone = sends.GroupBy(s => s.Body.GetProperty("to").GetString()).ToList();
            var byStatus = recipients.GroupBy(r => r.GetProperty("status").GetString()!).ToDictionary(g => g.Key, g => g.Count());
            var unknown = recipients.Count(r => r.GetProperty("error").ValueKind == JsonValueKind.Object && r.GetProperty("error").GetProperty("code").GetString() == "delivery_unknown");
            output.WriteLine($"{sends.Count} sends to {perPhone.Count} numbers; recipients {string.Join(", ", byStatus.Select(kv => $"{kv.Key} {kv.Value}"))}; delivery_unknown {unknown}; stats {done.GetProperty("stats")}");

            Assert.All(perPhone, g => Assert.True(g.Count() == 1, $"{g.Key} got {g.Count()} sends"));
            Assert.Equal(Contacts, recipients.Count);
            Assert.Equal(Contacts, done.GetProperty("stats").GetProperty("total").GetInt64());
            Assert.All(recipients, r => Assert.Contains(r.GetProperty("status").GetString(), new[] { "sent", "failed" }));
            Assert.All(recipients.Where(r => r.GetProperty("status").GetString() == "failed"), r => Assert.Equal("delivery_unknown", r.GetProperty("error").GetProperty("code").GetString()));
            Assert.Equal(byStatus.GetValueOrDefault("sent"), done.GetProperty("stats").GetProperty("sent").GetInt64());
            Assert.Equal(byStatus.GetValueOrDefault("failed"), done.GetProperty("stats").GetProperty("failed").GetInt64());
            Assert.Equal(0, done.GetProperty("stats").GetProperty("queued").GetInt64());
            Assert.True(perPhone.Count >= Contacts - unknown, $"{Contacts - perPhone.Count} contacts never reached Meta but only {unknown} are delivery_unknown");
        }
        catch
        {
            await foreach (var row in new TableClient(Azurite.ConnectionString, _prefix + "campaigns").QueryAsync<TableEntity>())
            {
                output.WriteLine(string.Join(", ", row.Select(kv => $"{kv.Key}={kv.Value}")));
            }

            output.WriteLine(string.Join('\n', server.Output.Where(l => !l.StartsWith("      at ", StringComparison.Ordinal)).TakeLast(80)));
            throw;
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private async Task<int> RecipientRowsAsync(string id)
    {
        var table = new TableClient(Azurite.ConnectionString, _prefix + "messages");
        var n = 0;
        try
        {
            await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey ge {"r_" + id + "_"} and RowKey lt {"r_" + id + "`"}"), select: ["RowKey"]))
            {
                n++;
            }
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // The messages table is created with the first recipient rows.
        }

        return n;
    }

    private async Task<int> SendingAsync()
    {
        var table = new TableClient(Azurite.ConnectionString, _prefix + "messages");
        var n = 0;
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"Status eq {"sending"}")))
        {
            n++;
        }

        return n;
    }

    private Task<ServerProcess> StartServerAsync() => ServerProcess.StartAsync(_prefix, development: false, new Dictionary<string, string?>(_graph.Settings())
    {
        ["Identity:SignupEnabled"] = "true",
        ["RateLimiting:PerMinute"] = "2000",
        ["RateLimiting:PerSecond"] = "2000",
        ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
        ["WhatsApp:AppSecret"] = MetaWebhook.AppSecret,
        ["WhatsApp:VerifyToken"] = MetaWebhook.VerifyToken,

        // A claim a killed instance left "sending" is settled as delivery_unknown after this (2 min by default).
        ["WhatsApp:ClaimTimeout"] = "00:00:10",
    });

    /// <summary>A workspace with a Cloud API number at 80/s and <see cref="Contacts"/> contacts tagged "crash"; its API on whichever process runs.</summary>
    private static async Task<Func<ServerProcess, KeyClient>> WorkspaceAsync(ServerProcess server)
    {
        var signup = await server.Client.PostAsJsonAsync("auth/signup", new { email = Infrastructure.Identity.NewEmail(), password = Infrastructure.Identity.Password, name = "Asha", workspace_name = "Acme" });
        var data = await Envelope.SuccessAsync(signup, HttpStatusCode.Created);
        var cookie = signup.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("aisoule_session=", StringComparison.Ordinal)).Split(';')[0];
        var owner = new Account(server.Client, "", Infrastructure.Identity.Password, cookie, data.GetProperty("csrf_token").GetString()!, "", data.GetProperty("workspace").GetProperty("id").GetString()!);
        var key = await owner.CreateKeyAsync();
        await Envelope.SuccessAsync(await owner.SendAsync(HttpMethod.Post, "accounts", new
        {
            name = "Shop",
            phone_number_id = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            waba_id = "102290129340398",
            access_token = FakeGraphApi.Token,
            throughput_mps = 80,
            is_default = true,
        }), HttpStatusCode.Created);
        var api = new KeyClient(server.Client, key);
        var phones = Enumerable.Range(0, Contacts).Select(i => "+1650" + (2_000_000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        foreach (var chunk in phones.Chunk(100))
        {
            await Envelope.SuccessAsync(await api.PostAsync("contacts/bulk", new { contacts = chunk.Select(p => new { phone_number = p, name = "Contact " + p, tags = new[] { "crash" } }) }));
        }

        return s => new KeyClient(s.Client, key);
    }

    private static async Task<JsonElement> CampaignAsync(KeyClient api, string id) => await Envelope.SuccessAsync(await api.GetAsync("campaigns/" + id));

    private static async Task<List<JsonElement>> RecipientsAsync(KeyClient api, string id)
    {
        var all = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await Envelope.SuccessAsync(await api.GetAsync($"campaigns/{id}/recipients?per_page=100{(cursor is null ? "" : "&cursor=" + cursor)}"));
            all.AddRange(page.GetProperty("recipients").EnumerateArray().Select(r => r.Clone()));
            cursor = page.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);
        return all;
    }
}
