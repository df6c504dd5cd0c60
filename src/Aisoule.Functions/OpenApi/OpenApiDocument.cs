using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisoule.Core.Results;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Aisoule.Functions.Routing;

namespace Aisoule.Functions.OpenApi;

/// <summary>
/// The OpenAPI 3.1 document of the API, made from the code and kept beside it. What the code declares is generated:
/// every HTTP function's path, method and operation id (from its trigger), its path parameters (from its route), its
/// security and the refusals that follow from it (from its <c>[Access]</c>: 401s, 403s, 429), the body refusals of an
/// operation that reads a body, the 503 of one that needs storage, and each error's status (from
/// <see cref="ErrorStatus"/>). What only a person can say is written in <c>OpenApi/operations/*.json</c>, one entry
/// per function: summary, query parameters, request body, the success answer and the operation's own errors. A test
/// fails when a function, a parameter or an error code exists on one side only.
/// </summary>
public static partial class OpenApiDocument
{
    public const string SuccessStatusKey = "success";

    private static readonly Lazy<string> Cached = new(() => Build(FunctionCatalog.Create(typeof(OpenApiDocument).Assembly)).ToJsonString(new JsonSerializerOptions { WriteIndented = false }));

    /// <summary>The document as served (built once per process).</summary>
    public static string Json => Cached.Value;

    /// <summary>The hand-written part: operation id → its entry, and the shared schemas.</summary>
    public static (IReadOnlyDictionary<string, JsonObject> Operations, JsonObject Schemas) ReadWritten()
    {
        var operations = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var schemas = new JsonObject();
        var assembly = typeof(OpenApiDocument).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("Aisoule.OpenApi.operations.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var part = ReadResource(assembly, name);
            foreach (var (id, entry) in part["operations"]?.AsObject() ?? [])
            {
                if (!operations.TryAdd(id, entry!.DeepClone().AsObject()))
                {
                    throw new InvalidOperationException($"{name}: operation {id} is described twice.");
                }
            }

            foreach (var (id, schema) in part["schemas"]?.AsObject() ?? [])
            {
                if (schemas.ContainsKey(id))
                {
                    throw new InvalidOperationException($"{name}: schema {id} is declared twice.");
                }

                schemas[id] = schema!.DeepClone();
            }
        }

        return (operations, schemas);
    }

    public static JsonObject Build(FunctionCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var assembly = typeof(OpenApiDocument).Assembly;
        var document = ReadResource(assembly, "Aisoule.OpenApi.base.json");
        var (written, schemas) = ReadWritten();
        var components = document["components"]!.AsObject();
        var allSchemas = components["schemas"]!.AsObject();
        foreach (var (id, schema) in schemas)
        {
            allSchemas[id] = schema!.DeepClone();
        }

        allSchemas["ErrorCode"] = new JsonObject
        {
            ["type"] = "string",
            ["description"] = "Every code an error envelope can carry; each operation lists the ones it answers, under their status.",
            ["enum"] = new JsonArray([.. ErrorCodes.All.Order(StringComparer.Ordinal).Select(c => (JsonNode)c)]),
        };

        var paths = new JsonObject();
        foreach (var function in catalog.HttpFunctions.Where(f => f.Name != FallbackFunctions.Name).OrderBy(f => f.Http!.Route, StringComparer.Ordinal))
        {
            // A function without its written entry is left out (the document test names it), rather than failing the
            // whole document.
            if (!written.TryGetValue(function.Name, out var entry))
            {
                continue;
            }

            var path = "/" + RouteParameter().Replace(function.Http!.Route, m => "{" + m.Groups["name"].Value + "}");
            var item = paths[path]?.AsObject() ?? (JsonObject)(paths[path] = new JsonObject());
            foreach (var method in function.Http.Methods)
            {
                item[method.ToLowerInvariant()] = Operation(function, entry, method.ToUpperInvariant());
            }
        }

        document["paths"] = paths;
        return document;
    }

    /// <summary>Every refusal an operation answers: status → codes (generated and written together).</summary>
    public static SortedDictionary<int, SortedSet<string>> Errors(FunctionDescriptor function, JsonObject entry, string method)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(entry);
        var codes = new SortedSet<string>(StringComparer.Ordinal);
        var access = function.Access ?? throw new InvalidOperationException($"{function.Name} has no [Access].");
        if (access.Credentials != Credentials.None)
        {
            codes.UnionWith([ErrorCodes.Unauthenticated, ErrorCodes.SessionExpired, ErrorCodes.RateLimited]);
            if (access.Credentials == Credentials.SessionOrKey)
            {
                codes.UnionWith([ErrorCodes.InvalidApiKey, ErrorCodes.KeyExpired, ErrorCodes.KeyRevoked]);
            }
            else
            {
                codes.Add(ErrorCodes.SessionRequired);
            }

            if (access.Scope is not null)
            {
                codes.Add(ErrorCodes.InsufficientScope);
            }

            if (method != "GET")
            {
                codes.Add(ErrorCodes.CsrfFailed);
            }

            if (access.ManagersOnly)
            {
                codes.Add(ErrorCodes.Forbidden);
            }
        }

        // A body read into a request record brings the body refusals; a raw one (Meta's signed webhook, checked over its
        // bytes) says "bodyRefusals": false and lists what it answers itself.
        if (entry["body"] is not null && entry["bodyRefusals"]?.GetValue<bool>() != false)
        {
            codes.UnionWith([ErrorCodes.InvalidJson, ErrorCodes.ValidationFailed, ErrorCodes.PayloadTooLarge, ErrorCodes.UnsupportedMediaType]);
        }

        if (entry["storage"]?.GetValue<bool>() != false)
        {
            codes.Add(ErrorCodes.StorageUnavailable);
        }

        foreach (var code in entry["errors"]?.AsArray() ?? [])
        {
            codes.Add(code!.GetValue<string>());
        }

        var byStatus = new SortedDictionary<int, SortedSet<string>>();
        foreach (var code in codes)
        {
            var status = ErrorStatus.Of(code);
            if (!byStatus.TryGetValue(status, out var set))
            {
                byStatus[status] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.Add(code);
        }

        return byStatus;
    }

    private static JsonObject Operation(FunctionDescriptor function, JsonObject entry, string method)
    {
        var access = function.Access!;
        var operation = new JsonObject
        {
            ["operationId"] = function.Name,
            ["tags"] = entry["tags"]?.DeepClone() ?? new JsonArray(),
            ["summary"] = entry["summary"]?.DeepClone(),
        };
        if (entry["description"] is { } description)
        {
            operation["description"] = description.DeepClone();
        }

        var parameters = new JsonArray();
        foreach (Match m in RouteParameter().Matches(function.Http!.Route))
        {
            var name = m.Groups["name"].Value;
            var given = entry["path"]?[name];
            parameters.Add(new JsonObject
            {
                ["name"] = name,
                ["in"] = "path",
                ["required"] = true,
                ["description"] = given?["description"]?.DeepClone() ?? "The id.",
                ["schema"] = given?["schema"]?.DeepClone() ?? new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 200 },
            });
        }

        foreach (var parameter in entry["parameters"]?.AsArray() ?? [])
        {
            parameters.Add(parameter!.DeepClone());
        }

        if (parameters.Count > 0)
        {
            operation["parameters"] = parameters;
        }

        operation["security"] = Security(access, method);

        if (entry["body"] is { } body)
        {
            operation["requestBody"] = new JsonObject
            {
                ["required"] = entry["bodyOptional"]?.GetValue<bool>() != true,
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = body.DeepClone() } },
            };
        }

        var responses = new JsonObject();
        foreach (var (status, answer) in entry["responses"]!.AsObject())
        {
            responses[status] = Success(answer!.AsObject(), access);
        }

        foreach (var (status, codes) in Errors(function, entry, method))
        {
            responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = ErrorResponse(status, codes, access);
        }

        operation["responses"] = responses;
        return operation;
    }

    private static JsonArray Security(AccessAttribute access, string method)
    {
        var scopes = access.Scope is null ? new JsonArray() : new JsonArray(access.Scope);
        JsonObject Session() => method == "GET"
            ? new JsonObject { ["session"] = scopes.DeepClone() }
            : new JsonObject { ["session"] = scopes.DeepClone(), ["csrf"] = new JsonArray() };
        return access.Credentials switch
        {
            Credentials.None => [],
            Credentials.Session => [Session()],
            _ => [new JsonObject { ["apiKey"] = scopes.DeepClone() }, Session()],
        };
    }

    private static JsonObject Success(JsonObject answer, AccessAttribute access)
    {
        var response = new JsonObject { ["description"] = answer["description"]?.DeepClone() ?? "Success." };
        var headers = Headers(access);
        foreach (var (name, header) in answer["headers"]?.AsObject() ?? [])
        {
            headers[name] = header!.DeepClone();
        }

        response["headers"] = headers;
        if (answer["content"] is { } content)
        {
            response["content"] = content.DeepClone();
            return response;
        }

        var media = new JsonObject
        {
            ["schema"] = new JsonObject
            {
                ["type"] = "object",
                ["required"] = new JsonArray("data", "status"),
                ["properties"] = new JsonObject
                {
                    ["data"] = answer["data"]!.DeepClone(),
                    ["status"] = new JsonObject { ["const"] = SuccessStatusKey },
                },
                ["additionalProperties"] = false,
            },
        };
        if (answer["example"] is { } example)
        {
            media["example"] = new JsonObject { ["data"] = example.DeepClone(), ["status"] = SuccessStatusKey };
        }

        response["content"] = new JsonObject { ["application/json"] = media };
        return response;
    }

    private static JsonObject ErrorResponse(int status, SortedSet<string> codes, AccessAttribute access)
    {
        var headers = Headers(access);
        if (status is 429 or 503)
        {
            headers["Retry-After"] = new JsonObject { ["$ref"] = "#/components/headers/Retry-After" };
        }

        return new JsonObject
        {
            ["description"] = string.Join(", ", codes),
            ["headers"] = headers,
            ["content"] = new JsonObject
            {
                ["application/json"] = new JsonObject
                {
                    ["schema"] = new JsonObject
                    {
                        ["allOf"] = new JsonArray(
                            new JsonObject { ["$ref"] = "#/components/schemas/Error" },
                            new JsonObject { ["properties"] = new JsonObject { ["code"] = new JsonObject { ["enum"] = new JsonArray([.. codes.Select(c => (JsonNode)c)]) } } }),
                    },
                },
            },
        };
    }

    private static JsonObject Headers(AccessAttribute access)
    {
        var headers = new JsonObject { ["X-Request-Id"] = new JsonObject { ["$ref"] = "#/components/headers/X-Request-Id" } };
        if (access.Credentials != Credentials.None)
        {
            foreach (var name in new[] { "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset" })
            {
                headers[name] = new JsonObject { ["$ref"] = "#/components/headers/" + name };
            }
        }

        return headers;
    }

    private static JsonObject ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"Resource {name} is missing.");
        return JsonNode.Parse(stream, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow })!.AsObject();
    }

    [GeneratedRegex(@"\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(:[^}]*)?\}")]
    private static partial Regex RouteParameter();
}
