using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// A loopback HTTP server that behaves like Meta's Graph API for the WhatsApp Cloud API: sends, template lists,
/// phone-number lookups (and the messaging-limit tier), and the failures it really gives — 429 with Retry-After, 500, timeouts, and Meta error
/// bodies <c>{"error":{"message","type","code","fbtrace_id"}}</c>. Each send is answered by <see cref="OnSend"/>.
/// Template lists page as Meta's cursor paging does: <c>limit</c> (25 by default, at most 100 a page),
/// <c>{"data":[…],"paging":{"cursors":{"before","after"},"previous"?,"next"?}}</c> with <c>next</c> an absolute URL
/// carrying the <c>after</c> cursor, left out on the last page.
/// </summary>
internal sealed class FakeGraphApi : IAsyncDisposable
{
    public const string Version = "v21.0";
    public const string Token = "EAAG-test-token-0123456789";
    public const int DefaultTemplatePage = 25;
    public const int MaxTemplatePage = 100;
    private readonly WebApplication _app;
    private int _sends;

    private FakeGraphApi(WebApplication app) => _app = app;

    /// <summary>Decides each send's answer from its number (1-based) and body. Default: success.</summary>
    public Func<int, JsonElement, Reply> OnSend { get; set; } = (_, _) => Reply.Ok();

    /// <summary>Every send Meta received, with the wamid it answered (null if it refused).</summary>
    public ConcurrentQueue<(JsonElement Body, string? Wamid, DateTimeOffset At)> Sends { get; } = new();

    public List<object> Templates { get; } =
    [
        new { id = "1001", name = "hello_world", language = "en_US", category = "UTILITY", status = "APPROVED", components = new object[] { new { type = "BODY", text = "Hello" } } },
        new { id = "1002", name = "promo", language = "en_US", category = "MARKETING", status = "APPROVED", components = Array.Empty<object>() },
        new { id = "1003", name = "draft", language = "en_US", category = "MARKETING", status = "PENDING", components = Array.Empty<object>() },
        OrderConfirmation,
    ];

    /// <summary>A template with named parameters, exactly as Meta's example declares it (research §4), approved.</summary>
    public static JsonElement OrderConfirmation { get; } = JsonDocument.Parse(
        """
        {"id":"1006","status":"APPROVED",
         "name":"order_confirmation","language":"en_US","category":"utility","parameter_format":"named",
         "components":[{"type":"body","text":"Thank you, {{first_name}}! Your order number is {{order_number}}.",
           "example":{"body_text_named_params":[{"param_name":"first_name","example":"Pablo"},
                                                 {"param_name":"order_number","example":"860198-230332"}]}}]}
        """).RootElement.Clone();

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The access tokens Meta currently honours; any other is answered with error 190.</summary>
    public ConcurrentDictionary<string, bool> AcceptedTokens { get; } = new(StringComparer.Ordinal) { [Token] = true };

    /// <summary>The portfolio's messaging-limit tier, as <c>GET /{phone_number_id}?fields=whatsapp_business_manager_messaging_limit</c> answers it.</summary>
    public string MessagingLimit { get; set; } = "TIER_UNLIMITED";

    /// <summary>Every template-list request, as its URL (path and query), in arrival order.</summary>
    public ConcurrentQueue<string> TemplateListRequests { get; } = new();

    /// <summary>Where <c>paging.next</c> points (scheme, host and port); this fake itself by default.</summary>
    public Uri? NextLinkBase { get; set; }

    /// <summary>A broken pager: every page, even an empty one past the end, has a <c>next</c>.</summary>
    public bool EndlessPaging { get; set; }

    /// <summary>Successful sends per message (by our biz_opaque_callback_data).</summary>
    public IReadOnlyDictionary<string, int> DeliveredPerMessage =>
        Sends.Where(s => s.Wamid is not null).GroupBy(s => s.Body.GetProperty("biz_opaque_callback_data").GetString()!.Split(' ')[1]).ToDictionary(g => g.Key, g => g.Count());

    public static async Task<FakeGraphApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.Configure<KestrelServerOptions>(o => o.AllowSynchronousIO = false);
        var app = builder.Build();
        var fake = new FakeGraphApi(app);
        app.MapPost("/{version}/{phoneNumberId}/messages", (Func<HttpContext, Task<IResult>>)fake.SendAsync);
        app.MapGet("/{version}/{wabaId}/message_templates", (Func<HttpContext, IResult>)fake.ListTemplates);
        app.MapGet("/{version}/{phoneNumberId}", (HttpContext http, string phoneNumberId) => !fake.Authorized(http) ? Unauthorized()
            : http.Request.Query["fields"].ToString() == "whatsapp_business_manager_messaging_limit"
                ? Results.Json(new { whatsapp_business_manager_messaging_limit = fake.MessagingLimit, id = phoneNumberId })
                : Results.Json(new { display_phone_number = "+91 98765 43210", verified_name = "Test Shop", id = phoneNumberId }));
        await app.StartAsync();
        fake.BaseAddress = new Uri(app.Urls.First());
        return fake;
    }

    /// <summary>Settings that point the app at this fake in cloud mode.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["WhatsApp:Provider"] = "cloud",
        ["WhatsApp:GraphBaseUrl"] = BaseAddress.ToString().TrimEnd('/'),
        ["WhatsApp:GraphVersion"] = Version,
        ["WhatsApp:RequestTimeout"] = "00:00:01",
        ["WhatsApp:RetryDelay"] = "00:00:00.100",
        ["WhatsApp:MaxRetryDelay"] = "00:00:00.500",
        ["WhatsApp:PairLimitDelay"] = "00:00:00.200",
        ["WhatsApp:DisconnectedHold"] = "00:00:00.500",
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private bool Authorized(HttpContext http) =>
        http.Request.Headers.Authorization.ToString() is var value && value.StartsWith("Bearer ", StringComparison.Ordinal) && AcceptedTokens.ContainsKey(value["Bearer ".Length..]);

    private IResult ListTemplates(HttpContext http)
    {
        TemplateListRequests.Enqueue(http.Request.Path + http.Request.QueryString);
        if (!Authorized(http))
        {
            return Unauthorized();
        }

        var query = http.Request.Query;
        var limit = int.TryParse(query["limit"], out var l) && l > 0 ? Math.Min(l, MaxTemplatePage) : DefaultTemplatePage;
        var start = 0;
        if (query["after"] is { Count: > 0 } after && !TryCursor(after.ToString(), out start))
        {
            return Results.Json(new { error = new { message = "(#100) Invalid after cursor", type = "OAuthException", code = 100, fbtrace_id = "AbC" } }, statusCode: 400);
        }

        var templates = Templates.ToList();
        var page = templates.Skip(start).Take(limit).ToList();
        var end = start + page.Count;
        var link = new UriBuilder(NextLinkBase ?? BaseAddress) { Path = http.Request.Path };
        string Link(string cursorName, string cursor) =>
            new UriBuilder(link.Uri) { Query = $"limit={limit}&fields={Uri.EscapeDataString(query["fields"].ToString())}&{cursorName}={Uri.EscapeDataString(cursor)}" }.Uri.AbsoluteUri;
        var paging = new Dictionary<string, object>
        {
            ["cursors"] = new { before = Cursor(start), after = Cursor(end) },
        };
        if (start > 0)
        {
            paging["previous"] = Link("before", Cursor(start));
        }

        if (end < templates.Count || EndlessPaging)
        {
            paging["next"] = Link("after", Cursor(end));
        }

        return Results.Json(new { data = page, paging });
    }

    private static string Cursor(int index) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("i:" + index.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static bool TryCursor(string cursor, out int index)
    {
        index = 0;
        try
        {
            var text = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(cursor));
            return text.StartsWith("i:", StringComparison.Ordinal) && int.TryParse(text[2..], System.Globalization.CultureInfo.InvariantCulture, out index) && index >= 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static IResult Unauthorized() => Results.Json(
        new { error = new { message = "Error validating access token: Session has expired.", type = "OAuthException", code = 190, fbtrace_id = "AbC" } }, statusCode: 401);

    private async Task<IResult> SendAsync(HttpContext http)
    {
        var arrived = DateTimeOffset.UtcNow;
        var body = (await JsonDocument.ParseAsync(http.Request.Body)).RootElement.Clone();
        if (!Authorized(http))
        {
            Sends.Enqueue((body, null, arrived));
            return Unauthorized();
        }

        var reply = OnSend(Interlocked.Increment(ref _sends), body);
        if (reply.Delay is { } delay)
        {
            await Task.Delay(delay, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            if (http.RequestAborted.IsCancellationRequested)
            {
                // The caller gave up before the answer: this fake then never sent it.
                Sends.Enqueue((body, null, arrived));
                return Results.Empty;
            }
        }

        // As Meta answers (research §1.4): a phone send names the wa_id; one to a business-scoped user id (in
        // "recipient", no "to") names the user_id; with neither, code 100 "The parameter to is required."
        object? contact = body.TryGetProperty("to", out var to) ? new { input = to.GetString(), wa_id = to.GetString()?.TrimStart('+') }
            : body.TryGetProperty("recipient", out var recipient) ? new { input = recipient.GetString(), user_id = recipient.GetString() }
            : null;
        if (reply.Status == 200 && contact is null)
        {
            Sends.Enqueue((body, null, arrived));
            return Results.Json(new { error = new { message = "(#100) The parameter to is required.", type = "OAuthException", code = 100, fbtrace_id = "AbC123" } }, statusCode: 400);
        }

        var wamid = reply.Status == 200 ? "wamid.HBgL" + Guid.NewGuid().ToString("N") : null;
        Sends.Enqueue((body, wamid, arrived));
        if (reply.RetryAfter is { } retryAfter)
        {
            http.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return reply.Status == 200
            ? Results.Json(new { messaging_product = "whatsapp", contacts = new[] { contact }, messages = new[] { new { id = wamid } } })
            : reply.Code is { } code
                ? Results.Json(new { error = new { message = $"(#{code}) {reply.Title}", type = "OAuthException", code, error_data = new { messaging_product = "whatsapp", details = reply.Title }, fbtrace_id = "AbC123" } }, statusCode: reply.Status)
                : Results.Text("upstream trouble", statusCode: reply.Status);
    }

    /// <summary>How the fake answers one send.</summary>
    internal sealed record Reply(int Status, int? Code = null, string? Title = null, int? RetryAfter = null, TimeSpan? Delay = null)
    {
        public static Reply Ok() => new(200);

        public static Reply MetaError(int status, int code, string title) => new(status, code, title);

        public static Reply ServerError() => new(500);

        public static Reply TooManyRequests(int retryAfterSeconds) => new(429, 130429, "Rate limit hit", retryAfterSeconds);

        public static Reply Timeout() => new(200, Delay: TimeSpan.FromSeconds(3));
    }
}
