extern alias JsonSchemaNet;

using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisoule.Functions.OpenApi;
using Aisoule.Functions.Routing;
using Aisoule.Tests.Infrastructure;
using JsonSchemaNet::Json.Schema;
using Xunit;

namespace Aisoule.Tests.OpenApi;

/// <summary>
/// The document is proven against the live API: every documented operation is driven to its success and to each
/// error it documents, on the local host over real HTTP and storage, and every real answer is checked against the
/// document by an independent JSON Schema 2020-12 validator (JsonSchema.Net): the status is documented, the code is
/// one listed under it, the required headers are there, every documented header present fits its schema, and the
/// body fits the response's schema.
/// </summary>
[Collection(Alone.Name)]
public sealed partial class ContractTests
{
    private static readonly JsonObject Document = OpenApiDocument.Build(ContractCases.Catalog);

    [Fact]
    public void Every_documented_answer_of_every_operation_has_a_case_and_every_case_a_documented_answer()
    {
        var documented = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (_, item) in Document["paths"]!.AsObject())
        {
            foreach (var (_, operation) in item!.AsObject())
            {
                var id = (string)operation!["operationId"]!;
                foreach (var (status, response) in operation["responses"]!.AsObject())
                {
                    var codes = response!["content"]?["application/json"]?["schema"]?["allOf"]?[1]?["properties"]?["code"]?["enum"]?.AsArray();
                    if (codes is null)
                    {
                        documented.Add($"{id} {status}");
                    }
                    else
                    {
                        documented.UnionWith(codes.Select(c => $"{id} {status} {c}"));
                    }
                }
            }
        }

        var driven = ContractCases.All().Select(c => c.ToString()).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(documented.Except(driven));
        Assert.Empty(driven.Except(documented));
        Assert.Equal(
            ContractCases.Catalog.HttpFunctions.Where(f => f.Name != FallbackFunctions.Name).Select(f => f.Name).Order(),
            ContractCases.All().Select(c => c.Operation).Distinct().Order());
    }

    [Fact]
    public void Every_example_in_the_document_fits_its_own_schema()
    {
        var problems = new List<string>();
        foreach (var (path, item) in Document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                foreach (var (status, response) in operation!["responses"]!.AsObject())
                {
                    if (response!["content"]?["application/json"] is { } media && media["example"] is { } example
                        && Validate(media["schema"]!, example) is { } wrong)
                    {
                        problems.Add($"{method.ToUpperInvariant()} {path} {status}: {wrong}");
                    }
                }
            }
        }

        foreach (var (name, schema) in Document["components"]!["schemas"]!.AsObject())
        {
            if (schema!["example"] is { } example && Validate(new JsonObject { ["$ref"] = "#/components/schemas/" + name }, example) is { } wrong)
            {
                problems.Add($"schema {name}: {wrong}");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_validator_refuses_an_answer_that_does_not_fit_its_schema()
    {
        var schema = Operation("GetHealth", "GET")["responses"]!["200"]!["content"]!["application/json"]!["schema"]!;

        Assert.Null(Validate(schema, JsonNode.Parse("""{"data":{"status":"ok","storage":"ok"},"status":"success"}""")));
        Assert.Contains("storage", Validate(schema, JsonNode.Parse("""{"data":{"status":"ok"},"status":"success"}""")), StringComparison.Ordinal);
        Assert.NotNull(Validate(schema, JsonNode.Parse("""{"data":{"status":"fine","storage":"ok"},"status":"success"}""")));
        Assert.NotNull(Validate(schema, JsonNode.Parse("""{"data":{"status":"ok","storage":"ok","extra":1},"status":"success"}""")));
        var key = Operation("CreateKey", "POST")["responses"]!["201"]!["content"]!["application/json"]!["schema"]!;
        Assert.Contains("created_at", Validate(key, JsonNode.Parse("""{"data":{"id":"k","name":"n","prefix":"p","scopes":[],"created_at":"yesterday","expires_at":null,"status":"active","key":"x"},"status":"success"}""")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_documented_operation_answers_as_documented_in_success_and_in_each_error()
    {
        await using var world = await ContractWorld.StartAsync();
        var failures = new List<string>();
        var cases = ContractCases.All();
        foreach (var contractCase in cases.OrderBy(c => c.Last))
        {
            try
            {
                using var request = await contractCase.Request(world);
                using var response = await world[contractCase.Target].Client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                var problems = Check(contractCase, request, response, body);
                if (problems.Count > 0)
                {
                    failures.Add($"{contractCase} ({contractCase.Target}) {request.Method} {request.RequestUri}: answered {(int)response.StatusCode}\n    {string.Join("\n    ", problems)}\n    {Truncate(body)}");
                }
            }
            catch (Exception e)
            {
                failures.Add($"{contractCase}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases do not answer as documented:\n\n{string.Join("\n\n", failures)}");
    }

    private static List<string> Check(ContractCase contractCase, HttpRequestMessage request, HttpResponseMessage response, string body)
    {
        var problems = new List<string>();
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if ((int)response.StatusCode != contractCase.Status)
        {
            problems.Add($"expected status {contractCase.Status}");
        }

        var operation = Operation(contractCase.Operation, request.Method.Method);
        if (operation["responses"]![status] is not JsonObject documented)
        {
            problems.Add($"status {status} is not documented");
            return problems;
        }

        foreach (var (name, header) in documented["headers"]?.AsObject() ?? [])
        {
            var resolved = Resolve(header!, "headers");
            var values = response.Headers.TryGetValues(name, out var v) ? v.ToList() : response.Content.Headers.TryGetValues(name, out var c) ? c.ToList() : [];
            if (values.Count == 0)
            {
                if ((bool?)resolved["required"] == true)
                {
                    problems.Add($"required header {name} is missing");
                }

                continue;
            }

            foreach (var value in values)
            {
                if (Validate(resolved["schema"]!, JsonValue.Create(value)) is { } wrong)
                {
                    problems.Add($"header {name}: {value}: {wrong}");
                }
            }
        }

        var media = response.Content.Headers.ContentType?.MediaType ?? "";
        if (documented["content"]?[media] is not JsonObject content)
        {
            problems.Add($"content type '{media}' is not documented for {status}");
            return problems;
        }

        if (media == "application/json")
        {
            JsonNode? instance;
            try
            {
                instance = JsonNode.Parse(body);
            }
            catch (JsonException e)
            {
                problems.Add("the body is not JSON: " + e.Message);
                return problems;
            }

            if (Validate(content["schema"]!, instance) is { } wrong)
            {
                problems.Add("body: " + wrong);
            }

            if (contractCase.Code is { } code && (string?)instance?["code"] != code)
            {
                problems.Add($"expected code {code}, got {instance?["code"]}");
            }
        }

        return problems;
    }

    private static JsonObject Operation(string id, string method) =>
        Document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject())
            .Single(o => (string?)o.Value!["operationId"] == id && string.Equals(o.Key, method, StringComparison.OrdinalIgnoreCase)).Value!.AsObject();

    private static JsonObject Resolve(JsonNode node, string kind) =>
        node["$ref"] is { } reference ? Document["components"]![kind]![((string)reference!).Split('/')[^1]]!.AsObject() : node.AsObject();

    private static int _schemas;

    /// <summary>Null when the instance fits; otherwise what does not, as JsonSchema.Net reports it.</summary>
    internal static string? Validate(JsonNode schema, JsonNode? instance)
    {
        // The response's schema with the document's shared schemas beside it as $defs, so every $ref resolves.
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = JsonNode.Parse(ComponentRef().Replace(Document["components"]!["schemas"]!.ToJsonString(), "#/$defs/")),
            ["allOf"] = new JsonArray(JsonNode.Parse(ComponentRef().Replace(schema.ToJsonString(), "#/$defs/"))),
        };
        var built = JsonSchema.Build(
            JsonDocument.Parse(root.ToJsonString()).RootElement,
            new BuildOptions { SchemaRegistry = new SchemaRegistry() },
            new Uri($"https://aisoule.test/contract/{Interlocked.Increment(ref _schemas)}"));
        using var document = JsonDocument.Parse(instance?.ToJsonString() ?? "null");
        var results = built.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (results.IsValid)
        {
            return null;
        }

        var errors = (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value} ({d.EvaluationPath})"))
            .Take(6);
        return string.Join("; ", errors);
    }

    private static string Truncate(string body) => body.Length > 600 ? body[..600] + "…" : body;

    [GeneratedRegex("#/components/schemas/")]
    private static partial Regex ComponentRef();
}
