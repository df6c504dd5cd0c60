using System.Text.Json;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Hosting;
using Aisoule.Functions.Routing;
using Aisoule.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Foundation;

public sealed class RouteTableTests
{
    private static readonly FunctionCatalog AppCatalog = FunctionCatalog.Create(typeof(AisouleServiceCollectionExtensions).Assembly);

    [Fact]
    public async Task Every_http_function_the_functions_sdk_generated_is_served_by_the_local_host()
    {
        // functions.metadata is what the Functions SDK wrote from the attributes for the real host to read.
        using var metadata = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "functions.metadata")));
        var httpTriggers = metadata.RootElement.EnumerateArray()
            .Select(f => (Name: f.GetProperty("name").GetString()!, Trigger: f.GetProperty("bindings").EnumerateArray().First(b => b.GetProperty("direction").GetString() == "In")))
            .Where(f => f.Trigger.GetProperty("type").GetString() == "httpTrigger")
            .ToList();
        Assert.NotEmpty(httpTriggers);

        await using var host = await TestHost.StartAsync();
        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

        foreach (var (name, trigger) in httpTriggers)
        {
            var route = "/api/" + (trigger.TryGetProperty("route", out var r) ? r.GetString() : name);
            var methods = trigger.TryGetProperty("methods", out var m) ? m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).Order().ToArray() : [];
            var served = endpoints.SingleOrDefault(e => e.RoutePattern.RawText == route && e.DisplayName == name);
            Assert.True(served is not null, $"{name} ({route}) is not in the local host's route table");
            var servedMethods = served.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Order().ToArray() ?? [];
            Assert.Equal(methods, servedMethods);
        }
    }

    [Fact]
    public void Every_queue_function_the_functions_sdk_generated_is_driven_by_the_local_host()
    {
        using var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata")));
        var queueTriggers = metadata.RootElement.EnumerateArray()
            .SelectMany(f => f.GetProperty("bindings").EnumerateArray()
                .Where(b => b.GetProperty("type").GetString() == "queueTrigger")
                .Select(b => (Name: f.GetProperty("name").GetString()!, Queue: b.GetProperty("queueName").GetString()!)))
            .ToList();

        var driven = AppCatalog.QueueFunctions.Select(f => (f.Name, Queue: f.QueueName!)).ToList();

        Assert.Equal(queueTriggers.Order(), driven.Order());
    }

    [Fact]
    public void Functions_metadata_lists_exactly_the_functions_the_local_host_serves_with_the_same_triggers()
    {
        // What `func start` (and Azure) reads, against what the local host serves: both ways, every trigger kind.
        using var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata")));
        var generated = metadata.RootElement.EnumerateArray().Select(f =>
        {
            var name = f.GetProperty("name").GetString()!;
            var trigger = f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            return trigger.GetProperty("type").GetString() switch
            {
                "httpTrigger" => Describe(name, "http",
                    trigger.TryGetProperty("route", out var r) ? r.GetString()! : name,
                    trigger.TryGetProperty("methods", out var m) ? string.Join(',', m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).Order()) : "*"),
                "queueTrigger" => Describe(name, "queue", trigger.GetProperty("queueName").GetString()!),
                "timerTrigger" => Describe(name, "timer", trigger.GetProperty("schedule").GetString()!),
                var other => Describe(name, other!),
            };
        }).Order().ToList();

        var served = AppCatalog.Functions.Select(f =>
            f.Http is { } http ? Describe(f.Name, "http", http.Route, http.Methods.Count == 0 ? "*" : string.Join(',', http.Methods.Select(x => x.ToUpperInvariant()).Order()))
            : f.QueueName is { } queue ? Describe(f.Name, "queue", queue)
            : f.Schedule is { } schedule ? Describe(f.Name, "timer", schedule)
            : Describe(f.Name, "unknown")).Order().ToList();

        Assert.Equal(generated, served);
        Assert.Contains(served, f => f.Contains("|timer|", StringComparison.Ordinal));
        Assert.Contains(served, f => f.Contains("|queue|", StringComparison.Ordinal));

        static string Describe(string name, params string[] parts) => name + "|" + string.Join('|', parts);
    }

    [Fact]
    public void Catch_all_function_sorts_after_every_other_function()
    {
        // The Functions host matches HTTP routes in order of function name; the catch-all must come last.
        var names = AppCatalog.HttpFunctions.Select(f => f.Name).ToList();

        Assert.Equal(FallbackFunctions.Name, names.Order(StringComparer.Ordinal).Last());
        Assert.Equal(FallbackFunctions.Name, names.Order(StringComparer.OrdinalIgnoreCase).Last());
    }

    [Fact]
    public void No_two_http_functions_can_claim_the_same_request()
    {
        // Because the Functions host does not rank routes by specificity, overlapping routes would be decided by
        // function names. Every pair must differ in method or in a literal path segment.
        var functions = AppCatalog.HttpFunctions.Where(f => f.Name != FallbackFunctions.Name).ToList();
        var clashes = (from a in functions
                       from b in functions
                       where string.CompareOrdinal(a.Name, b.Name) < 0 && MethodsOverlap(a.Http!, b.Http!) && RoutesOverlap(a.Http!.Route, b.Http!.Route)
                       select $"{a.Name} ({a.Http!.Route}) and {b.Name} ({b.Http!.Route})").Except(Benign).ToList();

        Assert.Empty(clashes);
    }

    /// <summary>
    /// Pairs whose only common request is one both answer 404: <c>GET /webhooks/samples/deliveries</c> (no event is
    /// called "deliveries", and no webhook is called "samples"), whichever the host picks.
    /// </summary>
    private static readonly string[] Benign = ["ListWebhookDeliveries (webhooks/{id}/deliveries) and WebhookSamples (webhooks/samples/{eventName})"];

    [Fact]
    public void Every_function_has_parameters_the_local_host_can_bind()
    {
        var host = typeof(Aisoule.LocalHost.LocalFunctionsHost).Assembly.GetType("Aisoule.LocalHost.FunctionInvoker")!;
        var validate = host.GetMethod("Validate")!;

        foreach (var function in AppCatalog.Functions)
        {
            validate.Invoke(null, [function]);
        }

        Assert.NotEmpty(AppCatalog.Functions);
    }

    private static bool MethodsOverlap(HttpEndpoint a, HttpEndpoint b) =>
        a.Methods.Count == 0 || b.Methods.Count == 0 || a.Methods.Intersect(b.Methods, StringComparer.OrdinalIgnoreCase).Any();

    private static bool RoutesOverlap(string a, string b)
    {
        var left = a.Split('/');
        var right = b.Split('/');
        return left.Length == right.Length && !left.Zip(right).Any(p => IsLiteral(p.First) && IsLiteral(p.Second) && !p.First.Equals(p.Second, StringComparison.OrdinalIgnoreCase));
    }

    private static bool IsLiteral(string segment) => !segment.Contains('{', StringComparison.Ordinal);
}
