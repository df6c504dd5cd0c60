using Aisoule.Core.Telemetry;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Aisoule.Functions.Hosting;

/// <summary>
/// The telemetry both hosts emit: the app's spans (<see cref="AisouleTelemetry"/>) and its outgoing HTTP calls (Meta's
/// Graph API among them), its meters, and its logs with their scopes (request, workspace and message ids). Exported to
/// Azure Monitor when <see cref="ConnectionStringSetting"/> is set; otherwise nothing is exported.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>
    /// Adds OpenTelemetry. The host adds what makes its request spans: the Functions worker
    /// <c>UseFunctionsWorkerDefaults()</c>, the local host the ASP.NET Core instrumentation.
    /// </summary>
    public static IOpenTelemetryBuilder AddAisouleTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var telemetry = services.AddOpenTelemetry()
            // HttpClient spans redact query values by default, so a token in a URL (Meta's paging links) is not kept.
            .WithTracing(tracing => tracing.AddSource(AisouleTelemetry.Name).AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics.AddMeter(AisouleTelemetry.Name, AisouleTelemetry.Name + ".*"))
            .WithLogging(configureBuilder: null, configureOptions: logging =>
            {
                logging.IncludeScopes = true;
                logging.IncludeFormattedMessage = true;
            });

        if (configuration[ConnectionStringSetting] is { Length: > 0 } connectionString)
        {
            telemetry.UseAzureMonitorExporter(options => options.ConnectionString = connectionString);
        }

        return telemetry;
    }
}
