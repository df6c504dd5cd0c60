using System.Security.Cryptography;
using Aisoule.Functions.Hosting;
using Aisoule.LocalHost;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// A local host on a free loopback port over real Azurite, serving the app's functions and the test probes, with
/// its own table and queue prefix so no two tests share state. Disposing stops it and deletes what it created.
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestHost(WebApplication app, string prefix, string connectionString, LogCapture logs)
    {
        _app = app;
        Prefix = prefix;
        ConnectionString = connectionString;
        Logs = logs;
        Client = new HttpClient { BaseAddress = app.ApiBaseAddress() };
    }

    public HttpClient Client { get; }

    public string Prefix { get; }

    public string ConnectionString { get; }

    public LogCapture Logs { get; }

    public IServiceProvider Services => _app.Services;

    public static string NewPrefix() => "t" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 10);

    public static async Task<TestHost> StartAsync(IDictionary<string, string?>? settings = null, string? connectionString = null)
    {
        var prefix = NewPrefix();
        connectionString ??= Azurite.ConnectionString;
        var logs = new LogCapture();
        var config = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["Storage:Prefix"] = prefix,
            ["port"] = "0",
            ["ProbeQueue"] = prefix + "probe",
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        var app = LocalFunctionsHost.Build([], [typeof(AisouleServiceCollectionExtensions).Assembly, typeof(TestHost).Assembly], builder =>
        {
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
        });
        await app.StartAsync();
        return new TestHost(app, prefix, connectionString, logs);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (ConnectionString == Azurite.Unreachable)
        {
            return;
        }

        var tables = new TableServiceClient(ConnectionString);
        await foreach (var table in tables.QueryAsync(TableServiceClient.CreateQueryFilter($"TableName ge {Prefix} and TableName lt {Prefix + "~"}")))
        {
            await tables.DeleteTableAsync(table.Name);
        }

        var queues = new QueueServiceClient(ConnectionString);
        await foreach (var queue in queues.GetQueuesAsync(prefix: Prefix))
        {
            await queues.DeleteQueueAsync(queue.Name);
        }
    }
}
