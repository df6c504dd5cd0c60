using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using Aisoule.Core.Messaging;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Hosting;
using Aisoule.Functions.Pipeline;
using Aisoule.Functions.Routing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.HttpOverrides;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Aisoule.LocalHost;

/// <summary>
/// Builds the local host: ASP.NET Core serving the function classes of the given assemblies at the routes their
/// attributes declare, with the same composition root (<c>AddAisoule</c>) and pipeline as the Functions worker.
/// </summary>
public static class LocalFunctionsHost
{
    public const int DefaultPort = 7071;

    /// <summary>The proxies whose <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> the host believes.</summary>
    public const string TrustedProxiesSetting = "LocalHost:TrustedProxies";

    public static WebApplication Build(string[] args, IReadOnlyList<Assembly> functionAssemblies, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        AddLocalSettings(builder.Configuration, Path.Combine(Directory.GetCurrentDirectory(), "local.settings.json"));
        configure?.Invoke(builder);

        // The triggers' %SendsQueue% and %InboundQueue% (physical names, prefix included) and the timers' schedules, unless set.
        var defaults = MessagingNames.TriggerDefaults(builder.Configuration["Storage:Prefix"] ?? "")
            .Where(d => string.IsNullOrEmpty(builder.Configuration[d.Key]))
            .ToDictionary(d => d.Key, d => (string?)d.Value);
        builder.Configuration.AddInMemoryCollection(defaults);

        var hostJson = HostJson.Load(Path.Combine(AppContext.BaseDirectory, "host.json"), builder.Configuration);
        var catalog = FunctionCatalog.Create([.. functionAssemblies]);
        foreach (var function in catalog.Functions)
        {
            FunctionInvoker.Validate(function);
        }

        var port = builder.Configuration.GetValue("port", DefaultPort);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, KestrelRejections.UseEnvelope));
        builder.Services.AddSingleton(catalog);
        builder.Services.AddSingleton(hostJson);
        builder.Services.AddAisoule(builder.Configuration);

        // The same telemetry as the worker; the request spans, which the Functions host makes there, are made here.
        builder.Services.AddAisouleTelemetry(builder.Configuration).WithTracing(tracing => tracing.AddAspNetCoreInstrumentation());
        builder.Services.AddHostedService<QueueTriggerListener>();
        builder.Services.AddHostedService<TimerTriggerListener>();

        var trustedProxies = TrustedProxies(builder.Configuration[TrustedProxiesSetting]);
        var app = builder.Build();

        // Only a proxy named in configuration may set the caller's address and scheme; anyone else could pick their own.
        if (trustedProxies.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            foreach (var proxy in trustedProxies)
            {
                forwarded.KnownProxies.Add(proxy);
            }

            app.UseForwardedHeaders(forwarded);
        }

        MapFunctions(app, catalog, hostJson.RoutePrefix);
        return app;
    }

    /// <summary>The base URL the host is listening on, with the route prefix (known once it has started).</summary>
    public static Uri ApiBaseAddress(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var prefix = app.Services.GetRequiredService<HostJson>().RoutePrefix;
        return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/" + prefix + "/");
    }

    /// <summary><c>LocalHost:TrustedProxies</c>: comma-separated IP addresses; none by default.</summary>
    private static List<IPAddress> TrustedProxies(string? setting)
    {
        var proxies = new List<IPAddress>();
        foreach (var entry in (setting ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            proxies.Add(IPAddress.TryParse(entry, out var address)
                ? address
                : throw new InvalidOperationException($"{TrustedProxiesSetting} must list IP addresses separated by commas; '{entry}' is not one."));
        }

        return proxies;
    }

    private static void MapFunctions(WebApplication app, FunctionCatalog catalog, string routePrefix)
    {
        foreach (var function in catalog.HttpFunctions)
        {
            var pattern = "/" + string.Join('/', new[] { routePrefix, function.Http!.Route }.Where(s => s.Length > 0));
            RequestDelegate handler = http => HandleAsync(http, function);
            var endpoint = function.Http.Methods.Count == 0 ? app.Map(pattern, handler) : app.MapMethods(pattern, function.Http.Methods, handler);
            endpoint.WithDisplayName(function.Name).WithMetadata(function);
        }

        // Outside the route prefix nothing is served; the catch-all function answers with the envelope.
        var fallback = catalog.HttpFunctions.FirstOrDefault(f => f.Name == FallbackFunctions.Name);
        if (fallback is not null)
        {
            app.MapFallback(http => HandleAsync(http, fallback));
        }
    }

    private static async Task HandleAsync(HttpContext http, FunctionDescriptor function)
    {
        var pipeline = http.RequestServices.GetRequiredService<ApiPipeline>();
        var result = await pipeline.RunAsync(http, function, () =>
            FunctionInvoker.InvokeAsync(function, http.RequestServices, parameter =>
                function.IsTrigger(parameter) ? http.Request
                : parameter.ParameterType == typeof(CancellationToken) ? http.RequestAborted
                : FunctionInvoker.RouteValue(parameter, http.Request.RouteValues[parameter.Name!])), http.RequestAborted).ConfigureAwait(false);
        await result.ExecuteAsync(http).ConfigureAwait(false);
    }

    // Core Tools turns local.settings.json "Values" into environment variables; here they become configuration
    // beneath the real environment variables, so an exported variable still wins.
    private static void AddLocalSettings(ConfigurationManager configuration, string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        var values = JsonNode.Parse(File.ReadAllText(path))?["Values"]?.AsObject() ?? [];
        var settings = values.ToDictionary(
            kv => kv.Key.Replace("__", ":", StringComparison.Ordinal),
            kv => kv.Value?.ToString());
        configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = settings });
    }
}
