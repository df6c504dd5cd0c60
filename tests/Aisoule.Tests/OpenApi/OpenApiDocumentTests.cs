using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisoule.Core.Json;
using Aisoule.Core.Results;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Hosting;
using Aisoule.Functions.OpenApi;
using Aisoule.Functions.Routing;
using Aisoule.Tests.Hostile;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.OpenApi;

/// <summary>
/// The OpenAPI document and the code say the same: every HTTP function is an operation and every operation a
/// function, with the same path parameters, the query parameters the function reads, the body fields (and their
/// lengths) of the record it reads, and every error code somewhere. It is served as built, and passes Redocly's
/// linter.
/// </summary>
public sealed partial class OpenApiDocumentTests
{
    private static readonly FunctionCatalog Catalog = FunctionCatalog.Create(typeof(AisouleServiceCollectionExtensions).Assembly);

    private static readonly JsonObject Document = OpenApiDocument.Build(Catalog);

    private static IEnumerable<(string Path, string Method, JsonObject Operation)> Operations() =>
        Document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(m => (p.Key, m.Key.ToUpperInvariant(), m.Value!.AsObject())));

    [Fact]
    public void Every_http_function_is_an_operation_and_every_operation_a_function()
    {
        // A route's path in OpenAPI: its parameters without their constraints ({id:length(3)} is {id}).
        var functions = Catalog.HttpFunctions.Where(f => f.Name != FallbackFunctions.Name)
            .SelectMany(f => f.Http!.Methods.Select(m => $"{m.ToUpperInvariant()} /{RouteConstraint().Replace(f.Http.Route, "{$1}")} {f.Name}")).Order().ToList();
        var documented = Operations().Select(o => $"{o.Method} {o.Path} {o.Operation["operationId"]}").Order().ToList();

        Assert.Equal(functions, documented);

        var (written, _) = OpenApiDocument.ReadWritten();
        Assert.Empty(written.Keys.Except(Catalog.HttpFunctions.Select(f => f.Name)));
    }

    [Fact]
    public async Task The_served_document_is_the_built_one_without_credentials()
    {
        await using var host = await TestHost.StartAsync();
        var response = await host.Client.GetAsync("/api/openapi.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonNode.DeepEquals(Document, JsonNode.Parse(await response.Content.ReadAsStringAsync())));
    }

    [Fact]
    public void Each_operations_path_parameters_are_its_routes()
    {
        foreach (var (path, _, operation) in Operations())
        {
            var documented = Parameters(operation, "path").Order().ToList();
            var inPath = PathParameter().Matches(path).Select(m => m.Groups[1].Value).Order().ToList();
            Assert.Equal(inPath, documented);
        }
    }

    [Fact]
    public void Each_operation_documents_exactly_the_query_parameters_its_function_reads()
    {
        foreach (var function in Catalog.HttpFunctions.Where(f => f.Name != FallbackFunctions.Name))
        {
            var read = QueryParametersRead(function).Order().ToList();
            foreach (var method in function.Http!.Methods)
            {
                var operation = Operations().Single(o => (string?)o.Operation["operationId"] == function.Name && string.Equals(o.Method, method, StringComparison.OrdinalIgnoreCase)).Operation;
                Assert.True(read.SequenceEqual(Parameters(operation, "query").Order()), $"{function.Name}: reads [{string.Join(", ", read)}], documents [{string.Join(", ", Parameters(operation, "query").Order())}]");
            }
        }
    }

    [Fact]
    public void Each_request_body_has_exactly_the_fields_of_the_record_it_is_read_into_with_its_limits()
    {
        foreach (var (name, spec) in EndpointSpec.All.Where(s => s.Value.Body is not null))
        {
            var operation = Operations().Single(o => (string?)o.Operation["operationId"] == name).Operation;
            var body = Resolve(operation["requestBody"]?["content"]?["application/json"]?["schema"]);
            Assert.True(body is not null, $"{name} reads {spec.Body!.Name} but documents no body");
            if (spec.Wrap is not null)
            {
                // A bulk body: {"contacts": [item, …]}; the record is one item.
                body = Resolve(body!["properties"]!.AsObject().Single().Value!["items"]);
            }

            var properties = body!["properties"]!.AsObject();
            var fields = spec.Body!.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
            Assert.True(
                fields.Select(JsonName).Order().SequenceEqual(properties.Select(p => p.Key).Order()),
                $"{name}: {spec.Body.Name} has [{string.Join(", ", fields.Select(JsonName).Order())}], the document [{string.Join(", ", properties.Select(p => p.Key).Order())}]");

            var required = body["required"]?.AsArray().Select(r => (string)r!).Order().ToList() ?? [];
            Assert.Equal(fields.Where(f => f.GetCustomAttribute<RequiredAttribute>() is not null).Select(JsonName).Order(), required);

            foreach (var field in fields)
            {
                var schema = Resolve(properties[JsonName(field)])!;
                if (field.GetCustomAttribute<StringLengthAttribute>() is { } length)
                {
                    Assert.True((int?)schema["maxLength"] == length.MaximumLength, $"{name}.{JsonName(field)}: maxLength {schema["maxLength"]}, the record {length.MaximumLength}");
                    Assert.True(((int?)schema["minLength"] ?? 0) == length.MinimumLength, $"{name}.{JsonName(field)}: minLength {schema["minLength"]}, the record {length.MinimumLength}");
                }

                if (field.GetCustomAttribute<MaxLengthAttribute>() is { } count)
                {
                    Assert.True((int?)schema["maxItems"] == count.Length, $"{name}.{JsonName(field)}: maxItems {schema["maxItems"]}, the record {count.Length}");
                }
            }
        }
    }

    [Fact]
    public void Every_error_code_is_in_the_document_and_each_under_its_status()
    {
        var enumerated = Document["components"]!["schemas"]!["ErrorCode"]!["enum"]!.AsArray().Select(c => (string)c!).Order().ToList();
        Assert.Equal(ErrorCodes.All.Order(), enumerated);

        var answered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, _, operation) in Operations())
        {
            foreach (var (status, response) in operation["responses"]!.AsObject())
            {
                foreach (var code in response!["content"]?["application/json"]?["schema"]?["allOf"]?[1]?["properties"]?["code"]?["enum"]?.AsArray() ?? [])
                {
                    Assert.Equal(Functions.Http.ErrorStatus.Of((string)code!).ToString(System.Globalization.CultureInfo.InvariantCulture), status);
                    answered.Add((string)code!);
                }
            }
        }

        // What no documented operation answers: the catch-all's 404/405, a request Kestrel cannot parse, a bug's 500,
        // a value storage refuses that no limit caught (a bug too), and a client that left (never received).
        string[] nowhere = [ErrorCodes.BadRequest, ErrorCodes.MethodNotAllowed, ErrorCodes.InternalError, ErrorCodes.ValueNotStorable, ErrorCodes.ClientClosedRequest];
        Assert.Equal(ErrorCodes.All.Except(nowhere).Order(), answered.Except(nowhere).Order());
    }

    [Fact]
    public async Task The_document_passes_redocly_lint_with_no_errors()
    {
        var work = Directory.CreateTempSubdirectory("openapi").FullName;
        try
        {
            var file = Path.Combine(work, "openapi.json");
            await File.WriteAllTextAsync(file, Document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepositoryRoot.Path };
            foreach (var arg in new[] { Path.Combine(RepositoryRoot.Path, "node_modules", "@redocly", "cli", "bin", "cli.js"), "lint", "--config", Path.Combine(RepositoryRoot.Path, "redocly.yaml"), "--format", "stylish", file })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["REDOCLY_TELEMETRY"] = "off";
            start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
            start.Environment["NO_COLOR"] = "1";
            using var lint = Process.Start(start)!;
            var output = lint.StandardOutput.ReadToEndAsync();
            var error = lint.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await lint.WaitForExitAsync(timeout.Token);
            Assert.True(lint.ExitCode == 0, $"redocly lint failed ({lint.ExitCode}):\n{await output}\n{await error}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    internal static JsonNode? Resolve(JsonNode? schema)
    {
        while (schema?["$ref"] is { } reference)
        {
            schema = Document["components"]!["schemas"]![((string)reference!).Split('/')[^1]];
        }

        return schema;
    }

    private static IEnumerable<string> Parameters(JsonObject operation, string where) =>
        (operation["parameters"]?.AsArray() ?? []).Select(p => p!["$ref"] is { } r ? Document["components"]!["parameters"]![((string)r!).Split('/')[^1]]! : p!)
            .Where(p => (string?)p["in"] == where).Select(p => (string)p["name"]!);

    private static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<System.Text.Json.Serialization.JsonPropertyNameAttribute>()?.Name
        ?? AisouleJson.Options.PropertyNamingPolicy!.ConvertName(property.Name);

    // The query parameters a function reads, from its source: QueryParameters.X(request, "name", …) and
    // request.Query["name"], in the function's method (up to the next function).
    private static IEnumerable<string> QueryParametersRead(FunctionDescriptor function)
    {
        var file = Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "src", "Aisoule.Functions"), function.Type.Name + ".cs", SearchOption.AllDirectories).Single();
        var source = File.ReadAllText(file);
        var start = source.IndexOf($"[Function(nameof({function.Name}))]", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{function.Name} not found in {file}");
        var end = source.IndexOf("[Function(", start + 1, StringComparison.Ordinal);
        var body = source[start..(end < 0 ? source.Length : end)];
        return QueryRead().Matches(body).Select(m => m.Groups["name"].Value).Distinct(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex PathParameter();

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)(:[^}]*)?\}")]
    private static partial Regex RouteConstraint();

    [GeneratedRegex(@"(QueryParameters\.\w+\(\s*request\s*,\s*""(?<name>[^""]+)""|request\.Query\[""(?<name>[^""]+)""\])")]
    private static partial Regex QueryRead();
}
