using System.Security.Cryptography;
using Aisoule.Functions.Hosting;
using Aisoule.LocalHost;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// A local host on a free loopback port over real Azurite, serving the app's functions and the test probes, with
/// its own table and queue prefix so no two tests share state (or, given a prefix, a second instance sharing
/// another's state). Disposing stops it and deletes what it created.
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsStorage;

    private TestHost(WebApplication app, string prefix, string connectionString, LogCapture logs, bool ownsStorage)
    {
        _ownsStorage = ownsStorage;
        _app = app;
        Prefix = prefix;
        ConnectionString = connectionString;
        Logs = logs;
        Client = NewClient(cookies: false);
    }

    /// <summary>A client without cookies: each request carries only what the test gives it.</summary>
    public HttpClient Client { get; }

    public string Prefix { get; }

    public string ConnectionString { get; }

    public LogCapture Logs { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Unless set, disposing the host fails the test if a function tried to write while reading ahead of its
    /// admission (a GET that writes without declaring <c>AwaitAdmission</c>): every test is also that check.
    /// </summary>
    public bool WritesAheadExpected { get; set; }

    /// <summary>A client of its own; with cookies it keeps a session like a browser does.</summary>
    public HttpClient NewClient(bool cookies = true) =>
        new(new HttpClientHandler { UseCookies = cookies, CookieContainer = new System.Net.CookieContainer() }) { BaseAddress = _app.ApiBaseAddress() };

    public static string NewPrefix() => "t" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 10);

    public static async Task<TestHost> StartAsync(IDictionary<string, string?>? settings = null, string? connectionString = null, string? prefix = null, TimeProvider? clock = null, Action<IServiceCollection>? services = null)
    {
        var ownsStorage = prefix is null;
        prefix ??= NewPrefix();
        connectionString ??= Azurite.ConnectionString;
        var logs = new LogCapture();
        var config = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["Storage:Prefix"] = prefix,
            ["port"] = "0",
            ["ProbeQueue"] = prefix + "probe",
            ["Identity:SignupEnabled"] = "true",
            // Most tests make many calls (and sign-ups) quickly; the rate-limit and throttle tests set the real limits themselves.
            ["RateLimiting:PerMinute"] = "2000",
            ["RateLimiting:PerSecond"] = "2000",
            ["Identity:SignupAddressLimit"] = "1000",
            ["Identity:SignupTotalLimit"] = "1000",
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
            ["WhatsApp:AppSecret"] = MetaWebhook.AppSecret,
            ["WhatsApp:VerifyToken"] = MetaWebhook.VerifyToken,
            ["WhatsApp:SandboxStatusDelay"] = "00:00:00.100",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        // The environment is the host's own, fixed before configuration: given as its command line is.
        string[] args = config.TryGetValue("environment", out var environment) && environment is not null ? ["--environment=" + environment] : [];
        var app = LocalFunctionsHost.Build(args, [typeof(AisouleServiceCollectionExtensions).Assembly, typeof(TestHost).Assembly], builder =>
        {
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
            if (clock is not null)
            {
                builder.Services.AddSingleton(clock);
            }

            services?.Invoke(builder.Services);
        });
        await app.StartAsync();
        return new TestHost(app, prefix, connectionString, logs, ownsStorage);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        // A host started on another's prefix is a second instance: the first one cleans up.
        if (_ownsStorage && ConnectionString != Azurite.Unreachable)
        {
            await DeleteStorageAsync(ConnectionString, Prefix);
        }

        if (!WritesAheadExpected && Logs.Entries.FirstOrDefault(e => e.Message.Contains(WroteAhead, StringComparison.Ordinal)) is { } wrote)
        {
            throw new InvalidOperationException("A GET wrote while reading ahead of its admission; declare it [Access(AwaitAdmission = true)]: " + wrote);
        }
    }

    /// <summary>What the pipeline logs when a function tries to write while reading ahead.</summary>
    public const string WroteAhead = "tried to write while reading ahead";

    /// <summary>Deletes every table and queue whose name starts with <paramref name="prefix"/>.</summary>
    public static async Task DeleteStorageAsync(string connectionString, string prefix)
    {
        var tables = new TableServiceClient(connectionString);
        await foreach (var table in tables.QueryAsync(TableServiceClient.CreateQueryFilter($"TableName ge {prefix} and TableName lt {prefix + "~"}")))
        {
            await tables.DeleteTableAsync(table.Name);
        }

        var queues = new QueueServiceClient(connectionString);
        await foreach (var queue in queues.GetQueuesAsync(prefix: prefix))
        {
            await queues.DeleteQueueAsync(queue.Name);
        }
    }
}
