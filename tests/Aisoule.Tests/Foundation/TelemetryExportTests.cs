using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using Aisoule.Functions.Hosting;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>Where telemetry goes: Azure Monitor with a connection string, nowhere without one.</summary>
public sealed class TelemetryExportTests
{
    private const string ConnectionString = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/";

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Without_a_connection_string_no_exporter_is_registered(string? connectionString)
    {
        var services = Composed(connectionString);

        Assert.DoesNotContain(services, IsAzureMonitor);
        Assert.DoesNotContain(services, d => (d.ImplementationType ?? d.ServiceType).FullName!.Contains("Exporter", StringComparison.Ordinal));
    }

    [Fact]
    public void With_a_connection_string_the_azure_monitor_exporter_is_registered()
    {
        var services = Composed(ConnectionString);

        Assert.Contains(services, IsAzureMonitor);
    }

    [Fact]
    public async Task With_a_connection_string_the_host_exports_to_the_ingestion_endpoint_and_no_secret_goes_with_it()
    {
        var ingested = new ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var ingestion = builder.Build();
        ingestion.MapPost("/v2.1/track", async (HttpRequest request) =>
        {
            var body = request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase)
                ? new GZipStream(request.Body, CompressionMode.Decompress)
                : request.Body;
            using var reader = new StreamReader(body);
            ingested.Enqueue(await reader.ReadToEndAsync());
            return Results.Json(new { itemsReceived = 0, itemsAccepted = 0, errors = Array.Empty<object>() });
        });
        await ingestion.StartAsync();
        var endpoint = ingestion.Urls.First().TrimEnd('/') + "/";
        const string wrongPassword = "a wrong password 0123";
        Account account;

        var host = await TestHost.StartAsync(new Dictionary<string, string?>
        {
            [TelemetryServiceCollectionExtensions.ConnectionStringSetting] = $"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={endpoint};LiveEndpoint={endpoint}",
            ["Identity:LoginFailureLimit"] = "1",
        });
        await using (host)
        {
            // A sign-up, then a wrong password twice: the second is refused by the login throttle (a counted refusal).
            account = await Infrastructure.Identity.SignUpAsync(host);
            await host.Client.PostAsJsonAsync("auth/login", new { email = account.Email, password = wrongPassword });
            Assert.Equal(HttpStatusCode.TooManyRequests, (await host.Client.PostAsJsonAsync("auth/login", new { email = account.Email, password = wrongPassword })).StatusCode);
        }

        // Stopping the host exports what it holds; the metrics include ours.
        var bodies = await Eventually.WaitAsync(() => Task.FromResult(ingested.ToArray()), b => b.Any(text => text.Contains(Core.Telemetry.AisouleTelemetry.RateLimitRefusals, StringComparison.Ordinal)), TimeSpan.FromSeconds(15), "our metrics ingested");
        foreach (var secret in new[] { account.Password, wrongPassword, account.CsrfToken, account.Cookie.Split('=', 2)[1] })
        {
            Assert.DoesNotContain(bodies, text => text.Contains(secret, StringComparison.Ordinal));
        }
    }

    private static ServiceCollection Composed(string? connectionString)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [TelemetryServiceCollectionExtensions.ConnectionStringSetting] = connectionString })
            .Build();
        var services = new ServiceCollection();
        services.AddAisouleTelemetry(configuration);
        return services;
    }

    private static bool IsAzureMonitor(ServiceDescriptor descriptor) =>
        new[] { descriptor.ServiceType, descriptor.ImplementationType }.Concat(descriptor.ServiceType.GenericTypeArguments)
            .Any(t => t?.Assembly.GetName().Name == "Azure.Monitor.OpenTelemetry.Exporter");
}
