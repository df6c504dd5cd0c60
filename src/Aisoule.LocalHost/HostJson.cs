using System.Globalization;
using System.Text.Json.Nodes;

namespace Aisoule.LocalHost;

/// <summary>The parts of <c>host.json</c> the local host honours, with the Functions host's defaults.</summary>
public sealed record HostJson
{
    public string RoutePrefix { get; init; } = "api";

    public int BatchSize { get; init; } = 16;

    /// <summary>When only this many are still running, the next batch is fetched (the host's default: batchSize / 2).</summary>
    public int? NewBatchThreshold { get; init; }

    public int MaxDequeueCount { get; init; } = 5;

    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;

    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Reads host.json, then lets app settings named <c>AzureFunctionsJobHost__extensions__…</c> override single
    /// values, as the Functions host does.
    /// </summary>
    public static HostJson Load(string path, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var extensions = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))?["extensions"] : null;
        string? Setting(string section, string name) =>
            configuration[$"AzureFunctionsJobHost:extensions:{section}:{name}"] ?? extensions?[section]?[name]?.ToString();

        var defaults = new HostJson();
        return new HostJson
        {
            RoutePrefix = Setting("http", "routePrefix") ?? defaults.RoutePrefix,
            BatchSize = Number(Setting("queues", "batchSize")) ?? defaults.BatchSize,
            NewBatchThreshold = Number(Setting("queues", "newBatchThreshold")),
            MaxDequeueCount = Number(Setting("queues", "maxDequeueCount")) ?? defaults.MaxDequeueCount,
            VisibilityTimeout = Time(Setting("queues", "visibilityTimeout")) ?? defaults.VisibilityTimeout,
            MaxPollingInterval = Time(Setting("queues", "maxPollingInterval")) ?? defaults.MaxPollingInterval,
        };
    }

    private static int? Number(string? value) => value is null ? null : int.Parse(value, CultureInfo.InvariantCulture);

    private static TimeSpan? Time(string? value) => value is null ? null : TimeSpan.Parse(value, CultureInfo.InvariantCulture);
}
