using System.Text;
using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Hosting;
using Aisoule.Functions.OpenApi;
using Aisoule.Functions.Pipeline;
using Aisoule.Functions.Routing;
using Aisoule.Tests.Infrastructure;

namespace Aisoule.Tests.OpenApi;

/// <summary>
/// One request the contract test sends: for an operation, the status it must answer (and the error code, for an
/// error), to which host. Its answer is checked against the document: status, headers, body schema.
/// </summary>
internal sealed record ContractCase(string Operation, int Status, string? Code, Func<ContractWorld, Task<HttpRequestMessage>> Request, Target Target = Target.Main)
{
    /// <summary>Runs after every case without it: for a case whose refusal outlasts it (the login throttle of an address).</summary>
    public bool Last { get; init; }

    public override string ToString() => $"{Operation} {Status}{(Code is null ? "" : " " + Code)}";
}

/// <summary>
/// Every case: the refusals that follow from an operation's <c>[Access]</c>, body and storage are made here for each
/// operation; each area's file adds its successes and its own errors (and sets up what they need).
/// </summary>
internal static partial class ContractCases
{
    public static readonly FunctionCatalog Catalog = FunctionCatalog.Create(typeof(AisouleServiceCollectionExtensions).Assembly);

    /// <summary>What each area creates before the cases run (ids into <see cref="ContractWorld.Ids"/>).</summary>
    public static IReadOnlyList<Func<ContractWorld, Task>> SetUps { get; } =
        [SetUpIdentityAsync, SetUpContactsAsync, SetUpMessagesAsync, SetUpCampaignsAsync, SetUpWebhooksAsync];

    /// <summary>Each area's cases, and the generated ones for what an area does not drive itself.</summary>
    public static IReadOnlyList<ContractCase> All()
    {
        var written = Identity().Concat(Contacts()).Concat(Messages()).Concat(Campaigns()).Concat(Webhooks()).ToList();
        var own = written.Where(c => c.Code is not null).Select(c => (c.Operation, c.Code)).ToHashSet();
        return [.. Generated().Where(c => !own.Contains((c.Operation, c.Code))), .. written];
    }

    /// <summary>A path with the world's ids put in: <c>contacts/{contact}</c>.</summary>
    public static string PathOf(ContractWorld world, string path) =>
        System.Text.RegularExpressions.Regex.Replace(path, @"\{(\w+)\}", m => Uri.EscapeDataString(world.Ids[m.Groups[1].Value]));

    /// <summary>The operation's path with a placeholder for every id: the generated refusals come before any lookup.</summary>
    private static string SamplePath(string operation) =>
        "/api/" + System.Text.RegularExpressions.Regex.Replace(Catalog.Get(operation).Http!.Route, @"\{(\w+)(:[^}]*)?\}", "x_contract");

    private static IEnumerable<ContractCase> Generated()
    {
        var (written, _) = OpenApiDocument.ReadWritten();
        foreach (var function in Catalog.HttpFunctions.Where(f => f.Name != FallbackFunctions.Name))
        {
            if (!written.TryGetValue(function.Name, out var entry))
            {
                continue;
            }

            foreach (var httpMethod in function.Http!.Methods)
            {
                var method = new HttpMethod(httpMethod.ToUpperInvariant());
                var access = function.Access!;
                var path = SamplePath(function.Name);
                var hasBody = entry["body"] is not null && entry["bodyRefusals"]?.GetValue<bool>() != false;
                var name = function.Name;
                foreach (var (status, codes) in OpenApiDocument.Errors(function, entry, method.Method))
                {
                    foreach (var code in codes)
                    {
                        if (GeneratedCase(name, method, path, access, hasBody, status, code) is { } made)
                        {
                            yield return made;
                        }
                    }
                }
            }
        }
    }

    // The refusals every operation of its kind answers the same way; null for a code its area drives itself.
    private static ContractCase? GeneratedCase(string name, HttpMethod method, string path, AccessAttribute access, bool hasBody, int status, string code)
    {
        var keyed = access.Credentials == Credentials.SessionOrKey;
        Func<ContractWorld, Task<HttpRequestMessage>>? request = code switch
        {
            ErrorCodes.Unauthenticated => _ => Done(new HttpRequestMessage(method, path) { Content = Body(hasBody, "{}") }),
            ErrorCodes.InvalidApiKey => _ => Done(Keyed(method, path, "ak_live_" + new string('x', 43), Body(hasBody, "{}"))),
            ErrorCodes.KeyRevoked => w => Done(Keyed(method, path, w.RevokedKey, Body(hasBody, "{}"))),
            ErrorCodes.KeyExpired => w => Done(Keyed(method, path, w.ExpiredKey, Body(hasBody, "{}"))),
            ErrorCodes.SessionExpired => w => Done(Session(method, path, w.ExpiredSessionCookie, "x", Body(hasBody, "{}"))),
            ErrorCodes.SessionRequired => w => Done(Keyed(method, path, w.Key, Body(hasBody, "{}"))),
            ErrorCodes.InsufficientScope => w => Done(Keyed(method, path, access.Scope == Scopes.TemplatesRead ? w.ContactsOnlyKey : w.TemplatesOnlyKey, Body(hasBody, "{}"))),
            ErrorCodes.CsrfFailed => w => Done(Session(method, path, w.Owner.Cookie, null, Body(hasBody, "{}"))),
            ErrorCodes.Forbidden => w => Done(Session(method, path, w.Agent.Cookie, w.Agent.CsrfToken, Body(hasBody, "{}"))),
            ErrorCodes.RateLimited => w => Done(keyed ? Keyed(method, path, w.SpentKey, Body(hasBody, "{}")) : Session(method, path, w.SpentSession.Cookie, w.SpentSession.CsrfToken, Body(hasBody, "{}"))),
            ErrorCodes.StorageUnavailable => w => Done(access.Credentials == Credentials.None
                ? new HttpRequestMessage(method, path) { Content = Body(hasBody, "{}") }
                : keyed ? Keyed(method, path, w.Key, Body(hasBody, "{}")) : Session(method, path, w.Owner.Cookie, w.Owner.CsrfToken, Body(hasBody, "{}"))),
            ErrorCodes.InvalidJson => w => Done(As(w, access, method, path, Body(true, "{\"name\": "))),
            ErrorCodes.ValidationFailed when hasBody => w => Done(As(w, access, method, path, Body(true, "{\"x_contract_unknown_field\": 1}"))),
            ErrorCodes.UnsupportedMediaType => w => Done(As(w, access, method, path, new StringContent("{}", Encoding.UTF8, "text/plain"))),
            ErrorCodes.PayloadTooLarge => w => Done(As(w, access, method, path, new StringContent(new string(' ', (5 * 1024 * 1024) + 1), Encoding.UTF8, "application/json"))),
            _ => null,
        };

        if (request is null)
        {
            return null;
        }

        var target = code switch
        {
            ErrorCodes.RateLimited => Target.Limited,
            ErrorCodes.StorageUnavailable => Target.Down,
            ErrorCodes.KeyExpired or ErrorCodes.SessionExpired => Target.Later,
            _ => Target.Main,
        };
        return new ContractCase(name, status, code, request, target);
    }

    public static Task<HttpRequestMessage> Done(HttpRequestMessage request) => Task.FromResult(request);

    public static StringContent? Body(bool has, string json) => has ? Json(json) : null;

    public static HttpRequestMessage Keyed(HttpMethod method, string path, string key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("X-API-Key", key);
        return request;
    }

    public static HttpRequestMessage Session(HttpMethod method, string path, string cookie, string? csrf, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("Cookie", cookie);
        if (csrf is not null && method != HttpMethod.Get)
        {
            request.Headers.Add("X-CSRF-Token", csrf);
        }

        return request;
    }

    /// <summary>As whoever may call the operation: nobody, a key with every scope, or the owner's session.</summary>
    public static HttpRequestMessage As(ContractWorld world, AccessAttribute access, HttpMethod method, string path, HttpContent? content) => access.Credentials switch
    {
        Credentials.None => new HttpRequestMessage(method, path) { Content = content },
        Credentials.SessionOrKey => Keyed(method, path, world.Key, content),
        _ => Session(method, path, world.Owner.Cookie, world.Owner.CsrfToken, content),
    };

    /// <summary>A JSON body for an area's cases.</summary>
    public static StringContent Json(object body) => new(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>A JSON body written as text.</summary>
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
