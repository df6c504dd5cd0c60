using System.Text.Json.Nodes;
using Aisoule.Functions.Accounts;
using Aisoule.Functions.Campaigns;
using Aisoule.Functions.Contacts;
using Aisoule.Functions.Identity;
using Aisoule.Functions.Messaging.Sending;
using Aisoule.Functions.Routing;
using Aisoule.Functions.Webhooks;

namespace Aisoule.Tests.Hostile;

/// <summary>
/// What the suite knows of an endpoint beyond its route: the request record its body is read into (its fields are
/// found by reflection), a valid body to put each hostile value into, and its query parameters. An endpoint without
/// an entry still gets every body-, path-, query- and header-level case; a test names each POST/PUT without one.
/// </summary>
internal sealed record EndpointSpec
{
    /// <summary>The request record the body is read into; null when the body is not read.</summary>
    public Type? Body { get; init; }

    /// <summary>A valid body for a hostile value at the given field path (so the value reaches storage).</summary>
    public Func<string, HostileWorkspace, JsonObject>? Baseline { get; init; }

    /// <summary>Wraps one item into the body (bulk: <c>{"contacts":[item]}</c>).</summary>
    public Func<JsonObject, JsonObject>? Wrap { get; init; }

    public IReadOnlyList<string> Query { get; init; } = [];

    /// <summary>Request headers the endpoint reads (beyond credentials and X-Request-Id).</summary>
    public IReadOnlyList<string> Headers { get; init; } = [];

    /// <summary>Whether an accepted request can change what the workspace snapshot shows.</summary>
    public bool Writes { get; init; } = true;

    /// <summary>Ends the caller's session when accepted: only refused cases are sent.</summary>
    public bool EndsSession { get; init; }

    /// <summary>Meta's webhook: bodies are also sent signed, so they get past the signature check.</summary>
    public bool Signed { get; init; }

    /// <summary>
    /// Each accepted request pays for a password hash (600,000 PBKDF2 rounds): of the values a correct API may accept,
    /// only a few representative ones are sent, to keep the suite fast.
    /// </summary>
    public bool HashesPasswords { get; init; }

    /// <summary>
    /// Its success is not an envelope but a document or a page (the OpenAPI document, the reference page and its
    /// files): a 2xx is checked for X-Request-Id and a body only; every refusal is still an envelope.
    /// </summary>
    public bool Raw { get; init; }

    /// <summary>The real resource the id in the path names for body cases (otherwise a hostile id is used).</summary>
    public bool RealId { get; init; }

    public static readonly IReadOnlyDictionary<string, EndpointSpec> All = new Dictionary<string, EndpointSpec>(StringComparer.Ordinal)
    {
        ["GetHealth"] = new() { Writes = false },
        ["GetOpenApiDocument"] = new() { Writes = false, Raw = true },
        ["GetApiReference"] = new() { Writes = false, Raw = true },
        ["GetApiReferenceAsset"] = new() { Writes = false, Raw = true },
        ["SignUp"] = new()
        {
            Body = typeof(SignupRequest),
            Baseline = (_, _) => new JsonObject { ["email"] = Infrastructure.Identity.NewEmail(), ["password"] = "a long hostile password", ["name"] = "H", ["workspace_name"] = "H" },
            Writes = false,
            HashesPasswords = true,
        },
        ["Login"] = new()
        {
            Body = typeof(LoginRequest),
            Baseline = (_, _) => new JsonObject { ["email"] = Infrastructure.Identity.NewEmail(), ["password"] = "not the password" },
            Writes = false,
        },
        ["Logout"] = new() { EndsSession = true },
        ["Me"] = new() { Writes = false },
        ["CreateKey"] = new() { Body = typeof(CreateKeyRequest), Baseline = (_, _) => new JsonObject { ["name"] = "hostile" } },
        ["ListKeys"] = new() { Writes = false },
        ["RevokeKey"] = new(),
        ["ListContacts"] = new() { Writes = false, Query = ["page", "per_page", "tag", "stage", "search", "cursor"] },
        ["CreateContact"] = new() { Body = typeof(ContactRequest), Baseline = (_, _) => new JsonObject { ["phone_number"] = HostileWorkspace.NewPhone() } },
        ["GetContact"] = new() { Writes = false },
        ["UpdateContact"] = new() { Body = typeof(ContactRequest), Baseline = (_, _) => new JsonObject { ["name"] = "Updated" }, RealId = true },
        ["DeleteContact"] = new(),
        ["BulkUpsertContacts"] = new()
        {
            Body = typeof(ContactRequest),
            Baseline = (_, _) => new JsonObject { ["phone_number"] = HostileWorkspace.NewPhone() },
            Wrap = item => new JsonObject { ["contacts"] = new JsonArray(item) },
        },
        ["SendMessage"] = new() { Body = typeof(SendMessageRequest), Baseline = SendBaseline, Headers = ["Idempotency-Key"] },
        ["GetMessage"] = new() { Writes = false },
        ["ListMessages"] = new() { Writes = false, Query = ["page", "per_page", "contact_id", "status"] },
        ["ListTemplates"] = new() { Writes = false, Query = ["whatsapp_account_id", "status"] },
        ["SyncTemplates"] = new() { Writes = false, Query = ["whatsapp_account_id"] },
        ["ListAccounts"] = new() { Writes = false },
        ["AddAccount"] = new()
        {
            Body = typeof(AddAccountRequest),
            Baseline = (_, _) => new JsonObject
            {
                ["name"] = "Hostile",
                ["phone_number_id"] = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["waba_id"] = "102290129340398",
                ["access_token"] = "EAAG-hostile-token",
            },
        },
        ["UpdateAccount"] = new() { Body = typeof(UpdateAccountRequest), Baseline = (_, _) => new JsonObject { ["name"] = "Hostile" }, RealId = true },
        ["RemoveAccount"] = new(),
        ["VerifyWhatsAppWebhook"] = new() { Writes = false, Query = ["hub.mode", "hub.verify_token", "hub.challenge"] },
        ["ReceiveWhatsAppWebhook"] = new() { Writes = false, Signed = true },
        ["CreateCampaign"] = new()
        {
            Body = typeof(CampaignRequest),
            Baseline = (_, _) => new JsonObject
            {
                ["name"] = "Hostile",
                ["template"] = new JsonObject { ["name"] = "hello_world", ["language"] = "en_US" },
                ["audience"] = new JsonObject { ["tags"] = new JsonArray("nobody-has-this-tag") },
            },
            Headers = ["Idempotency-Key"],
        },
        ["ListCampaigns"] = new() { Writes = false, Query = ["page", "per_page"] },
        ["GetCampaign"] = new() { Writes = false },
        ["ListCampaignRecipients"] = new() { Writes = false, Query = ["per_page", "status", "category", "cursor"] },
        ["RescheduleCampaign"] = new() { Body = typeof(CampaignPatch), Baseline = (_, _) => new JsonObject { ["scheduled_at"] = "2030-01-01T00:00:00Z" } },
        ["PauseCampaign"] = new(),
        ["ResumeCampaign"] = new(),
        ["CancelCampaign"] = new(),
        ["RetryCampaign"] = new() { Body = typeof(RetryRequest), Baseline = (_, _) => new JsonObject { ["categories"] = new JsonArray("retryable") } },
        ["CreateWebhook"] = new()
        {
            Body = typeof(WebhookRequest),
            Baseline = (_, _) => new JsonObject { ["url"] = "https://example.com/hook", ["events"] = new JsonArray("contact.created") },
        },
        ["ListWebhooks"] = new() { Writes = false },
        ["GetWebhook"] = new() { Writes = false },
        ["UpdateWebhook"] = new() { Body = typeof(WebhookPatchRequest), Baseline = (_, _) => new JsonObject { ["name"] = "Hostile" } },
        ["DeleteWebhook"] = new(),
        ["RotateWebhookSecret"] = new(),
        ["TestWebhook"] = new() { Body = typeof(WebhookTestRequest), Baseline = (_, _) => new JsonObject { ["event"] = "contact.created" } },
        ["ListWebhookDeliveries"] = new() { Writes = false, Query = ["per_page", "cursor"] },
        ["ReplayWebhookDelivery"] = new(),
        ["RecoverWebhook"] = new()
        {
            Body = typeof(WebhookRecoverRequest),
            Baseline = (_, _) => new JsonObject { ["since"] = DateTimeOffset.UtcNow.AddDays(-1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) },
        },
        ["WebhookSamples"] = new() { Writes = false },
        [FallbackFunctions.Name] = new() { Writes = false },
    };

    /// <summary>A template send, or a send of the type whose field the hostile value goes into.</summary>
    private static JsonObject SendBaseline(string path, HostileWorkspace workspace)
    {
        var to = HostileWorkspace.NewPhone();
        var field = path.Split('.')[0];
        return field switch
        {
            "image" or "video" or "document" or "audio" => new JsonObject { ["to"] = to, ["type"] = field, [field] = new JsonObject { ["url"] = "https://example.com/a.jpg" } },
            "text" => new JsonObject { ["to"] = workspace.WindowPhone, ["type"] = "text", ["text"] = "hi" },
            "interactive" => new JsonObject { ["to"] = workspace.WindowPhone, ["type"] = "interactive", ["interactive"] = new JsonObject { ["type"] = "button" } },
            _ => new JsonObject { ["to"] = to, ["type"] = "template", ["template"] = new JsonObject { ["name"] = "hello_world", ["language"] = "en_US" } },
        };
    }
}
