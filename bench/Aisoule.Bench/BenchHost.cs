using System.Net.Http.Json;
using System.Text.Json;
using Aisoule.Core.Identity;
using Aisoule.Functions.Hosting;
using Aisoule.LocalHost;
using Aisoule.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>The local host, in this process, over the benchmark's Azurite, with a fresh storage prefix.</summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchHost(WebApplication app, string connectionString)
    {
        _app = app;
        ConnectionString = connectionString;
        Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = app.ApiBaseAddress(), Timeout = Timeout.InfiniteTimeSpan };
    }

    public HttpClient Client { get; }

    public string ConnectionString { get; }

    public IServiceProvider Services => _app.Services;

    public static string NewPrefix() => "b" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>A host on a fresh storage prefix, or on <paramref name="prefix"/> (another instance of the same app).</summary>
    public static async Task<BenchHost> StartAsync(IDictionary<string, string?>? settings = null, string? prefix = null)
    {
        var connectionString = Azurite.ConnectionString;
        var config = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["Storage:Prefix"] = prefix ?? NewPrefix(),
            ["port"] = "0",
            ["Identity:SignupEnabled"] = "true",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        string[] args = config.TryGetValue("environment", out var environment) && environment is not null ? ["--environment=" + environment] : [];
        var app = LocalFunctionsHost.Build(args, [typeof(AisouleServiceCollectionExtensions).Assembly], b => b.Configuration.AddInMemoryCollection(config));
        await app.StartAsync().ConfigureAwait(false);
        return new BenchHost(app, connectionString);
    }

    /// <summary>A new workspace and an all-scopes API key for it.</summary>
    public async Task<(string WorkspaceId, string Key)> NewWorkspaceAsync()
    {
        var (workspaceId, _, key) = await NewWorkspaceWithOwnerAsync().ConfigureAwait(false);
        return (workspaceId, key);
    }

    /// <summary>A new workspace, its owner's user id and an all-scopes API key made through the API.</summary>
    public async Task<(string WorkspaceId, string UserId, string Key)> NewWorkspaceWithOwnerAsync()
    {
        var email = $"bench{Guid.NewGuid():N}@example.com";
        var signup = await Client.PostAsJsonAsync("auth/signup", new { email, password = "benchmark password", name = "Bench", workspace_name = "Bench" }).ConfigureAwait(false);
        signup.EnsureSuccessStatusCode();
        var data = (await JsonDocument.ParseAsync(await signup.Content.ReadAsStreamAsync().ConfigureAwait(false)).ConfigureAwait(false)).RootElement.GetProperty("data");
        var cookie = signup.Headers.GetValues("Set-Cookie").First().Split(';')[0];
        using var create = new HttpRequestMessage(HttpMethod.Post, "keys") { Content = JsonContent.Create(new { name = "bench" }) };
        create.Headers.Add("Cookie", cookie);
        create.Headers.Add("X-CSRF-Token", data.GetProperty("csrf_token").GetString());
        var key = await Client.SendAsync(create).ConfigureAwait(false);
        key.EnsureSuccessStatusCode();
        var keyData = (await JsonDocument.ParseAsync(await key.Content.ReadAsStreamAsync().ConfigureAwait(false)).ConfigureAwait(false)).RootElement.GetProperty("data");
        return (data.GetProperty("workspace").GetProperty("id").GetString()!, data.GetProperty("user").GetProperty("id").GetString()!, keyData.GetProperty("key").GetString()!);
    }

    /// <summary>
    /// More all-scopes keys for a workspace, made with the Core service: making hundreds through one session would
    /// hit that session's own rate limit, which is not what the benchmarks measure.
    /// </summary>
    public async Task<List<string>> MoreKeysAsync(string workspaceId, string userId, int count)
    {
        var keyService = Services.GetRequiredService<ApiKeyService>();
        var owner = new Caller(workspaceId, userId, Roles.Owner, Scopes.All);
        var keys = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var created = await keyService.CreateAsync(owner, $"bench {i}", null, null).ConfigureAwait(false);
            keys.Add(created.Value!.Key);
        }

        return keys;
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string key, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-API-Key", key);
        return await Client.SendAsync(request).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
