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
    /// Microsoft Entra authentication for ingestion (Application Insights with local auth off, as infra/main.bicep
    /// makes it): <c>Authorization=AAD</c>, with <c>ClientId=…</c> for a user-assigned managed identity.
    /// </summary>
    public const string AuthenticationSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

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
            var credential = EntraCredential(configuration[AuthenticationSetting]);
            telemetry.UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = connectionString;
                if (credential is not null)
                {
                    options.Credential = credential;
                }
            });
        }

        return telemetry;
    }

    /// <summary>The managed identity named by the authentication string, or null when it asks for none.</summary>
    internal static Azure.Core.TokenCredential? EntraCredential(string? authentication)
    {
        if (string.IsNullOrWhiteSpace(authentication))
        {
            return null;
        }

        var parts = authentication.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2).Select(x => x.Trim()).ToArray())
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.OrdinalIgnoreCase);
        if (!parts.TryGetValue("Authorization", out var kind) || !string.Equals(kind, "AAD", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(AuthenticationSetting + " must be 'Authorization=AAD' (with ';ClientId=<client id>' for a user-assigned identity).");
        }

        if (!parts.TryGetValue("ClientId", out var clientId) || clientId.Length == 0)
        {
            return new Azure.Identity.ManagedIdentityCredential(Azure.Identity.ManagedIdentityId.SystemAssigned);
        }

        return Guid.TryParse(clientId, out _)
            ? new Azure.Identity.ManagedIdentityCredential(Azure.Identity.ManagedIdentityId.FromUserAssignedClientId(clientId))
            : throw new InvalidOperationException(AuthenticationSetting + ": ClientId must be the managed identity's client id (a GUID).");
    }
}
