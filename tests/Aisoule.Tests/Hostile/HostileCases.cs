using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisoule.Core.Json;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Pipeline;
using Aisoule.Functions.Routing;

namespace Aisoule.Tests.Hostile;

internal enum Expect
{
    /// <summary>Must be refused: a 4xx envelope, nothing changed.</summary>
    Refused,

    /// <summary>May be accepted (a 2xx envelope) or refused (a 4xx envelope, nothing changed); never a 5xx.</summary>
    Any,
}

/// <summary>Which credentials a case carries.</summary>
internal enum Auth
{
    None,
    Key,
    Session,
}

/// <summary>One hostile request: raw path and query (already percent-encoded), raw body bytes, headers.</summary>
internal sealed record HostileCase(string Function, string Name, string Method, string Path, byte[]? Body, string? ContentType, Auth Auth, Expect Expect)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Sign the body as Meta does.</summary>
    public bool Sign { get; init; }

    /// <summary>Leave out the auth mode's own credential headers (the case brings hostile ones).</summary>
    public bool OwnCredentials { get; init; }

    public override string ToString() => $"{Function} {Method} {Name}";
}

/// <summary>Generates every case for one endpoint of the catalog.</summary>
internal static partial class HostileCases
{
    private const string Placeholder = "\u0001HOSTILE\u0001";

    /// <summary>Path segments for an id: each needs escaping in a key, is not an id, or is not even text.</summary>
    public static readonly (string Name, string Segment)[] HostileIds =
    [
        ("%00", "%00"), ("a%00b", "a%00b"), ("%2F", "a%2Fb"), ("%5C", "a%5Cb"), ("%23", "a%23b"), ("%3F", "a%3Fb"), ("~", "a~b"), ("|", "a%7Cb"),
        ("%01", "%01"), ("%1F", "%1F"), ("%7F", "%7F"), ("emoji", "%F0%9F%98%80"), ("UTF-8 surrogate bytes", "%ED%A0%80"), ("invalid UTF-8", "%FF%FE"),
        ("3,000 characters", new string('x', 3000)), ("dot", "."), ("dots", ".."), ("encoded dots", "%2E%2E"), ("%25", "%25"),
        ("id prefix then %00", "ct_%00"), ("quote injection", "'%20or%20''%3D'"), ("space", "a%20b"), ("plus", "a+b"),
        ("number past 2^63", HostileValues.PastLong),
    ];

    /// <summary>Query values, percent-encoded as a client would send them.</summary>
    public static readonly (string Name, string Value)[] HostileQueryValues =
    [
        ("empty", ""), ("%00", "%00"), ("control characters", "%01%07%1F"), ("4,000 characters", new string('x', 4000)), ("emoji", "%F0%9F%98%80"),
        ("UTF-8 surrogate bytes", "%ED%A0%80"), ("invalid UTF-8", "%FF"), ("key-escaping characters", "%2F%5C%23%3F~%7C%01"),
        ("number past 2^63", HostileValues.PastLong), ("-1", "-1"), ("1.5", "1.5"), ("plus", "+1"), ("quote injection", "'%20or%20''%3D'"),
    ];

    /// <summary>The values that may be valid, kept where each accepted request is costly.</summary>
    private static readonly string[] Representative = ["emoji", "lone high surrogate", "NUL", "'#'"];

    public static IEnumerable<HostileCase> For(FunctionDescriptor function, HostileWorkspace workspace)
    {
        var spec = EndpointSpec.All.GetValueOrDefault(function.Name) ?? new EndpointSpec { Writes = true };
        var http = function.Http!;
        var auth = function.Access?.Credentials switch
        {
            Credentials.None => Auth.None,
            Credentials.Session => Auth.Session,
            _ => Auth.Key,
        };
        var methods = http.Methods.Count == 0 ? ["GET", "POST", "PUT", "DELETE", "PATCH"] : http.Methods;
        var cases = new List<HostileCase>();
        foreach (var method in methods)
        {
            var writes = spec.Writes && method != "GET";
            var readsBody = spec.Body is not null || spec.Signed;
            var hasBody = method is "POST" or "PUT" or "PATCH";

            if (function.Name == FallbackFunctions.Name)
            {
                cases.AddRange(HostileIds.Select(id => new HostileCase(function.Name, $"path {id.Name}", method, "no-such/" + id.Segment, null, null, auth, Expect.Refused)));
                continue;
            }

            // Hostile ids in the path: never a real resource, so never accepted by a write.
            if (RouteParameter().IsMatch(http.Route))
            {
                foreach (var (name, segment) in HostileIds)
                {
                    var body = hasBody ? Encoding.UTF8.GetBytes(spec.Baseline?.Invoke("", workspace).ToJsonString() ?? "{}") : null;
                    var path = RouteParameter().Replace(http.Route, segment);
                    cases.Add(new HostileCase(function.Name, $"id {name}", method, path, body, hasBody ? "application/json" : null, auth, method == "GET" ? Expect.Any : Expect.Refused));
                }
            }

            var basePath = RouteParameter().Replace(http.Route, m => spec.RealId ? workspace.RealId(http.Route) : "zz-not-an-id");

            // Hostile credentials: refused before anything else.
            if (auth != Auth.None)
            {
                foreach (var (name, value) in new[] { ("empty", ""), ("prefix only", "ak_live_"), ("emoji", "ak_live_😀"), ("10,000 characters", "ak_live_" + new string('x', 10_000)), ("NUL", "ak_live_%00") })
                {
                    cases.Add(new HostileCase(function.Name, $"X-API-Key {name}", method, basePath, null, null, Auth.None, Expect.Refused) { Headers = new Dictionary<string, string> { ["X-API-Key"] = value }, OwnCredentials = true });
                    cases.Add(new HostileCase(function.Name, $"session cookie {name}", method, basePath, null, null, Auth.None, Expect.Refused) { Headers = new Dictionary<string, string> { ["Cookie"] = "aisoule_session=" + value }, OwnCredentials = true });
                }

                if (auth == Auth.Session && method != "GET")
                {
                    foreach (var (name, value) in new[] { ("empty", ""), ("emoji", "😀"), ("10,000 characters", new string('x', 10_000)) })
                    {
                        cases.Add(new HostileCase(function.Name, $"X-CSRF-Token {name}", method, basePath, null, null, Auth.Session, Expect.Refused) { Headers = new Dictionary<string, string> { ["X-CSRF-Token"] = value } });
                    }
                }
            }

            if (spec.EndsSession)
            {
                continue;
            }

            // Every value in each declared parameter; a few in an undeclared one (nothing reads it, only the host parses it).
            var queryNames = spec.Query.Append("unknown_param").ToList();
            foreach (var parameter in queryNames)
            {
                foreach (var (name, value) in parameter == "unknown_param" ? HostileQueryValues.Where(v => v.Name is "%00" or "4,000 characters" or "UTF-8 surrogate bytes" or "invalid UTF-8") : HostileQueryValues)
                {
                    // Writes carry no body: refused for it, while the query is still parsed and routed.
                    cases.Add(new HostileCase(function.Name, $"query {parameter}={name}", method, $"{basePath}?{Uri.EscapeDataString(parameter)}={value}", null, null, auth, writes ? Expect.Refused : Expect.Any));
                }

                cases.Add(new HostileCase(function.Name, $"query {parameter} given twice", method, $"{basePath}?{parameter}=1&{parameter}=2", null, null, auth, writes ? Expect.Refused : Expect.Any));
            }

            foreach (var (name, value) in new[] { ("emoji", "😀"), ("1,000 characters", new string('r', 1000)), ("spaces", "a b c") })
            {
                cases.Add(new HostileCase(function.Name, $"X-Request-Id {name}", method, basePath, null, null, auth, writes ? Expect.Refused : Expect.Any) { Headers = new Dictionary<string, string> { ["X-Request-Id"] = value } });
            }

            if (!hasBody)
            {
                continue;
            }

            foreach (var header in spec.Headers)
            {
                foreach (var (name, value) in new[]
                {
                    ("empty", ""), ("256 characters", new string('k', 256)), ("4,000 characters", new string('k', 4000)), ("emoji", "😀"), ("tab", "a\tb"),
                    ("DEL", "a\u007fb"), ("lone surrogate", "a\ud800b"), ("key-escaping characters", "/\\#?~|"), ("%00", "%00"),
                })
                {
                    var body = Encoding.UTF8.GetBytes((spec.Baseline?.Invoke("", workspace) ?? []).ToJsonString());
                    cases.Add(new HostileCase(function.Name, $"{header} {name}", method, basePath, body, "application/json", auth, Expect.Any) { Headers = new Dictionary<string, string> { [header] = value } });
                }
            }

            // Body-level: whatever the fields, most of these bodies are not a request (a signed webhook takes any JSON).
            foreach (var (name, bytes, contentType, invalid) in BodyLevel())
            {
                var expect = readsBody && invalid && !spec.Signed ? Expect.Refused : Expect.Any;
                cases.Add(new HostileCase(function.Name, $"body {name}", method, basePath, bytes, contentType, auth, expect) { Sign = spec.Signed });
            }

            if (spec.Body is { } type && spec.Baseline is { } baseline)
            {
                foreach (var field in Fields(type, ""))
                {
                    foreach (var value in HostileValues.For(field.Kind, field.MaxLength).Where(v => !spec.HashesPasswords || !v.MayBeValid || Representative.Any(r => v.Name.EndsWith(r, StringComparison.Ordinal))))
                    {
                        var json = Splice(baseline(field.Path, workspace), spec.Wrap, field.Path, value.Json);
                        cases.Add(new HostileCase(function.Name, $"{field.Path}: {value.Name}", method, basePath, json, "application/json", auth, value.MayBeValid ? Expect.Any : Expect.Refused));
                    }

                    if (field.Kind is FieldKind.String or FieldKind.Any)
                    {
                        foreach (var (name, raw) in new[] { ("raw invalid UTF-8 bytes", new byte[] { 0xFF, 0xFE, 0x80 }), ("raw UTF-8 surrogate bytes", new byte[] { 0xED, 0xA0, 0x80 }), ("raw overlong NUL", new byte[] { 0xC0, 0x80 }) })
                        {
                            var json = Splice(baseline(field.Path, workspace), spec.Wrap, field.Path, "\"" + Placeholder + "\"");
                            cases.Add(new HostileCase(function.Name, $"{field.Path}: {name}", method, basePath, Replace(json, Encoding.UTF8.GetBytes(Placeholder), raw), "application/json", auth, Expect.Refused));
                        }
                    }
                }

                if (spec.Wrap is not null)
                {
                    foreach (var value in HostileValues.For(FieldKind.Any, 1000).Where(v => !v.MayBeValid || v.Name.Contains("array", StringComparison.Ordinal)))
                    {
                        cases.Add(new HostileCase(function.Name, $"contacts: {value.Name}", method, basePath, Encoding.UTF8.GetBytes("{\"contacts\":" + value.Json + "}"), "application/json", auth, Expect.Refused));
                    }

                    cases.Add(new HostileCase(function.Name, "contacts: 10,000 valid-looking items", method, basePath, Encoding.UTF8.GetBytes("{\"contacts\":" + HostileValues.ManyArray("{\"phone_number\":\"+12025550100\"}") + "}"), "application/json", auth, Expect.Refused));
                }
            }

            if (spec.Signed)
            {
                foreach (var value in HostileValues.For(FieldKind.Any, 1000))
                {
                    var body = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"999000999\"},\"contacts\":[{\"user_id\":" + value.Json + ",\"wa_id\":" + value.Json + ",\"profile\":{\"name\":" + value.Json + ",\"username\":" + value.Json + "}}],\"messages\":[{\"from\":" + value.Json + ",\"from_user_id\":" + value.Json + ",\"id\":" + value.Json + ",\"type\":\"text\",\"text\":{\"body\":" + value.Json + "}},{\"from_user_id\":" + value.Json + ",\"id\":" + value.Json + ",\"type\":\"system\",\"system\":{\"type\":\"user_changed_user_id\",\"user_id\":" + value.Json + ",\"previous_user_id\":" + value.Json + "}}],\"statuses\":" + value.Json + "}}]}]}";
                    cases.Add(new HostileCase(function.Name, $"signed event with {value.Name}", method, basePath, Encoding.UTF8.GetBytes(body), "application/json", auth, Expect.Any) { Sign = true });
                }
            }
        }

        return cases;
    }

    /// <summary>Bodies no endpoint takes.</summary>
    private static IEnumerable<(string Name, byte[]? Bytes, string? ContentType, bool Invalid)> BodyLevel()
    {
        const string json = "application/json";
        yield return ("absent", null, null, true);
        yield return ("empty", [], json, true);
        yield return ("null", "null"u8.ToArray(), json, true);
        yield return ("array", "[]"u8.ToArray(), json, true);
        yield return ("number past 2^63", Encoding.UTF8.GetBytes(HostileValues.PastLong), json, true);
        yield return ("string", "\"a\""u8.ToArray(), json, true);
        yield return ("truncated", "{\"a\":"u8.ToArray(), json, true);
        yield return ("10,000 levels of nested arrays", Encoding.UTF8.GetBytes(HostileValues.DeepArray()), json, true);
        yield return ("10,000 levels of nested objects", Encoding.UTF8.GetBytes(HostileValues.DeepObject()), json, true);
        yield return ("10,000-element array", Encoding.UTF8.GetBytes(HostileValues.ManyArray("{}")), json, true);
        yield return ("raw invalid UTF-8", [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], json, true);
        yield return ("NUL byte", [0x7B, 0x00, 0x7D], json, true);
        yield return ("UTF-16", Encoding.Unicode.GetBytes("{\"a\":1}"), "application/json; charset=utf-16", true);
        yield return ("text/plain", "{}"u8.ToArray(), "text/plain", true);
        yield return ("form", "a=1"u8.ToArray(), "application/x-www-form-urlencoded", true);
        yield return ("malformed content type", "{}"u8.ToArray(), "application/json; charset=", true);
        yield return ("unknown field", "{\"zz_unknown\":1}"u8.ToArray(), json, true);
        yield return ("hostile field names", Encoding.UTF8.GetBytes("{\"\\u0000\":1,\"__proto__\":{},\"a\\ud800\":2,\"😀\":3,\"/\\\\#?~|\":4}"), json, true);
        yield return ("duplicate fields", "{\"name\":\"a\",\"name\":\"b\"}"u8.ToArray(), json, false);
        yield return ("trailing garbage", "{}}"u8.ToArray(), json, true);
        yield return ("comment", "{/* c */}"u8.ToArray(), json, true);
    }

    /// <summary>The fields of a request record, by wire path, with what JSON they take.</summary>
    public static IEnumerable<(string Path, FieldKind Kind, int MaxLength)> Fields(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var path = prefix + AisouleJson.FieldName(property.Name);
            var t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var max = property.GetCustomAttribute<StringLengthAttribute>()?.MaximumLength ?? 1000;
            if (t == typeof(string))
            {
                yield return (path, FieldKind.String, max);
            }
            else if (t == typeof(JsonElement) || typeof(IEnumerable<JsonElement>).IsAssignableFrom(t))
            {
                yield return (path, FieldKind.Any, max);
            }
            else if (typeof(IEnumerable<string>).IsAssignableFrom(t))
            {
                yield return (path, FieldKind.StringList, 50);
            }
            else if (t == typeof(int) || t == typeof(long))
            {
                yield return (path, FieldKind.Number, max);
            }
            else if (t == typeof(bool))
            {
                yield return (path, FieldKind.Bool, max);
            }
            else if (t == typeof(DateTimeOffset) || t == typeof(DateTime))
            {
                yield return (path, FieldKind.Timestamp, max);
            }
            else if (t.IsClass)
            {
                foreach (var nested in Fields(t, path + "."))
                {
                    yield return nested;
                }
            }
            else
            {
                throw new InvalidOperationException($"No hostile values for {type.Name}.{property.Name} ({t.Name}): add its kind.");
            }
        }
    }

    /// <summary>The baseline body with the value at <paramref name="path"/>, as raw JSON (the value may be unparseable).</summary>
    private static byte[] Splice(JsonObject baseline, Func<JsonObject, JsonObject>? wrap, string path, string valueJson)
    {
        var parts = path.Split('.');
        var node = baseline;
        foreach (var part in parts[..^1])
        {
            if (node[part] is not JsonObject child)
            {
                child = [];
                node[part] = child;
            }

            node = child;
        }

        node[parts[^1]] = Placeholder;
        var body = (wrap?.Invoke(baseline) ?? baseline).ToJsonString();
        var quoted = JsonSerializer.Serialize(Placeholder);
        return Encoding.UTF8.GetBytes(body.Replace(quoted, valueJson, StringComparison.Ordinal));
    }

    private static byte[] Replace(byte[] source, byte[] find, byte[] with)
    {
        var at = source.AsSpan().IndexOf(find);
        return at < 0 ? source : [.. source[..at], .. with, .. source[(at + find.Length)..]];
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex RouteParameter();
}
