using System.Net.Http.Json;
using Aisoule.Core.Identity;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.OpenApi;

/// <summary>Which running host a contract case is sent to.</summary>
internal enum Target
{
    /// <summary>The ordinary host, with the suite's generous limits.</summary>
    Main,

    /// <summary>The same storage (so the same keys and sessions) with 1 request a minute and 1 sign-up per address, its clock standing still.</summary>
    Limited,

    /// <summary>A host whose storage does not answer.</summary>
    Down,

    /// <summary>The same storage seen two days later (the expired key and session have expired there), sign-up off.</summary>
    Later,

    /// <summary>A host of its own running Meta's cloud provider against the loopback Graph fake (<see cref="ContractWorld.Graph"/>).</summary>
    Cloud,
}

/// <summary>The system clock, some time ahead (timers still run on the system's).</summary>
internal sealed class AheadClock(TimeSpan ahead) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
}

/// <summary>
/// What the contract cases run against: a workspace with an owner session, keys of every kind (all scopes, one scope,
/// revoked, expired), a session that has expired, an agent in another workspace, and the resources each area sets up
/// (<see cref="Ids"/>). The limited host's clock stands still, so its spent quota never frees up mid-run; the later host
/// runs two days ahead, so what expires in a day has expired there.
/// </summary>
internal sealed class ContractWorld : IAsyncDisposable
{
    private ContractWorld(TestHost main, TestHost limited, TestHost down, TestHost later, TestHost cloud, FakeGraphApi graph)
    {
        Main = main;
        Limited = limited;
        Down = down;
        Later = later;
        Cloud = cloud;
        Graph = graph;
    }

    public TestHost Main { get; }

    public TestHost Limited { get; }

    public TestHost Down { get; }

    public TestHost Later { get; }

    public TestHost Cloud { get; }

    /// <summary>Meta's Graph API as the cloud host sees it: what it answers can be changed per case.</summary>
    public FakeGraphApi Graph { get; }

    /// <summary>A workspace on the cloud host with a connected account (<c>Ids["cloud_account"]</c>).</summary>
    public Messaging.Sender CloudSender { get; private set; } = null!;

    public TestHost this[Target target] => target switch
    {
        Target.Limited => Limited,
        Target.Down => Down,
        Target.Later => Later,
        Target.Cloud => Cloud,
        _ => Main,
    };

    public Account Owner { get; private set; } = null!;

    /// <summary>Every scope.</summary>
    public string Key { get; private set; } = "";

    /// <summary>Only <c>templates:read</c>, or only <c>contacts:read</c> for an operation that needs templates:read.</summary>
    public string TemplatesOnlyKey { get; private set; } = "";

    public string ContactsOnlyKey { get; private set; } = "";

    public string RevokedKey { get; private set; } = "";

    public string ExpiredKey { get; private set; } = "";

    /// <summary>A key and a session of another workspace whose quota on <see cref="Target.Limited"/> is spent.</summary>
    public string SpentKey { get; private set; } = "";

    public Account SpentSession { get; private set; } = null!;

    /// <summary>The owner's session, idle past its timeout on <see cref="Target.Later"/>.</summary>
    public string ExpiredSessionCookie { get; private set; } = "";

    /// <summary>An agent (not owner or admin) of its own workspace.</summary>
    public Account Agent { get; private set; } = null!;

    /// <summary>Resources the areas set up, by name (<c>contact</c>, <c>message</c>, …).</summary>
    public Dictionary<string, string> Ids { get; } = new(StringComparer.Ordinal);

    public static async Task<ContractWorld> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var main = await TestHost.StartAsync(settings);
        // The other hosts only answer requests: their queue and timer functions stay off, so a standing or early clock
        // never works the main host's messages, campaigns or deliveries.
        var quiet = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        var catalog = Functions.Catalog.FunctionCatalog.Create(typeof(Functions.Hosting.AisouleServiceCollectionExtensions).Assembly, typeof(TestHost).Assembly);
        foreach (var function in catalog.QueueFunctions.Concat(catalog.TimerFunctions))
        {
            quiet[$"AzureWebJobs.{function.Name}.Disabled"] = "true";
        }

        var limitedSettings = new Dictionary<string, string?>(quiet)
        {
            ["RateLimiting:PerMinute"] = "1",
            ["RateLimiting:PerSecond"] = "1",
            ["Identity:SignupAddressLimit"] = "1",
        };
        var limited = await TestHost.StartAsync(limitedSettings, connectionString: main.ConnectionString, prefix: main.Prefix, clock: new ManualClock(DateTimeOffset.UtcNow));
        var down = await TestHost.StartAsync(quiet, connectionString: Azurite.Unreachable);
        var later = await TestHost.StartAsync(new Dictionary<string, string?>(quiet) { ["Identity:SignupEnabled"] = "false" }, connectionString: main.ConnectionString, prefix: main.Prefix, clock: new AheadClock(TimeSpan.FromDays(2)));
        var graph = await FakeGraphApi.StartAsync();

        // An authentication template, which the sandbox has none of (a send of it by user id: 422 recipient_needs_phone).
        graph.Templates.Add(new { id = "1090", name = "login_code", language = "en_US", category = "AUTHENTICATION", status = "APPROVED", components = new object[] { new { type = "BODY", text = "{{1}} is your code." } } });
        var cloud = await TestHost.StartAsync(graph.Settings());
        var world = new ContractWorld(main, limited, down, later, cloud, graph);
        await world.SetUpAsync();
        return world;
    }

    public async ValueTask DisposeAsync()
    {
        await Cloud.DisposeAsync();
        await Graph.DisposeAsync();
        await Later.DisposeAsync();
        await Down.DisposeAsync();
        await Limited.DisposeAsync();
        await Main.DisposeAsync();
    }

    /// <summary>The owner's session, with its CSRF token on writes.</summary>
    public HttpRequestMessage AsOwner(HttpMethod method, string path, object? body = null) =>
        ContractCases.Session(method, path, Owner.Cookie, Owner.CsrfToken, body is null ? null : JsonContent.Create(body));

    private async Task SetUpAsync()
    {
        Owner = await Infrastructure.Identity.SignUpAsync(Main);

        // Expired two days later: a key that expires in an hour, and this session (idle 8 hours, at most 7 days).
        ExpiredKey = await Owner.CreateKeyAsync("soon expired", expiresAt: DateTimeOffset.UtcNow.AddHours(1));
        // (A session of its own: the later host ends the session it finds expired.)
        ExpiredSessionCookie = (await Infrastructure.Identity.LoginAsync(Main, Owner.Email, Owner.Password)).Cookie;
        Key = await Owner.CreateKeyAsync("all");
        TemplatesOnlyKey = await Owner.CreateKeyAsync("templates only", [Scopes.TemplatesRead]);
        ContactsOnlyKey = await Owner.CreateKeyAsync("contacts only", [Scopes.ContactsRead]);
        var revoked = await Owner.CreateKeyDataAsync("revoked");
        RevokedKey = revoked.GetProperty("key").GetString()!;
        await Owner.SendAsync(HttpMethod.Delete, "keys/" + revoked.GetProperty("id").GetString());

        // Another workspace whose one request a minute on the limited host is spent, by key and by session.
        SpentSession = await Infrastructure.Identity.SignUpAsync(Main);
        SpentKey = await SpentSession.CreateKeyAsync("spent");
        using (var spendKey = ContractCases.Keyed(HttpMethod.Get, "auth/me", SpentKey))
        using (var spendSession = ContractCases.Session(HttpMethod.Get, "auth/me", SpentSession.Cookie, null))
        {
            (await Limited.Client.SendAsync(spendKey)).Dispose();
            (await Limited.Client.SendAsync(spendSession)).Dispose();
        }

        // An agent: a signed-up owner demoted, then logged in again.
        var agent = await Infrastructure.Identity.SignUpAsync(Main);
        var users = await Main.Services.GetRequiredService<StorageAccount>().GetTableAsync(IdentityTables.Workspaces);
        await users.UpdateEntityAsync(new TableEntity(agent.WorkspaceId, UserEntity.RowFor(agent.UserId)) { ["Role"] = Roles.Agent }, ETag.All, TableUpdateMode.Merge);
        Agent = await Infrastructure.Identity.LoginAsync(Main, agent.Email, agent.Password);

        CloudSender = await Messaging.Sender.CloudAsync(Cloud);
        Ids["cloud_account"] = CloudSender.AccountId;

        foreach (var setUp in ContractCases.SetUps)
        {
            await setUp(this);
        }
    }
}
