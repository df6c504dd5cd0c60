using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisoule.Core.Messaging.Inbound;
using Aisoule.Core.Templates;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.WhatsApp;

/// <summary>
/// The embedded WhatsApp: answers a send like Meta (a <c>wamid.…</c>), then feeds <c>sent</c>, <c>delivered</c>
/// and <c>read</c> back through the same inbound queue and processor a real Meta webhook goes through, so the
/// whole path runs on a laptop with no Meta account.
/// </summary>
public sealed class SandboxWhatsAppProvider(InboundChanges inbound, IOptionsMonitor<WhatsAppOptions> options, TimeProvider clock) : IWhatsAppProvider
{
    /// <summary>
    /// The sandbox's templates: approved ones of both kinds (positional parameters, and named ones in
    /// <c>order_confirmation</c>, Meta's own example), and one still pending review.
    /// </summary>
    public static IReadOnlyList<ProviderTemplate> Templates { get; } =
    [
        new("sbx_hello_world", "hello_world", "en_US", "UTILITY", "APPROVED",
            """[{"type":"HEADER","format":"TEXT","text":"Hello World"},{"type":"BODY","text":"Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta."},{"type":"FOOTER","text":"WhatsApp Business Platform sample message"}]"""),
        new("sbx_order_update", "order_update", "en_US", "UTILITY", "APPROVED",
            """[{"type":"BODY","text":"Hi {{1}}, your order {{2}} is on its way."}]"""),
        new("sbx_order_confirmation", "order_confirmation", "en_US", "UTILITY", "APPROVED",
            """[{"type":"BODY","text":"Thank you, {{first_name}}! Your order number is {{order_number}}.","example":{"body_text_named_params":[{"param_name":"first_name","example":"Pablo"},{"param_name":"order_number","example":"860198-230332"}]}}]""",
            TemplateParameters.Named),
        new("sbx_spring_sale", "spring_sale", "en_US", "MARKETING", "APPROVED",
            """[{"type":"BODY","text":"Spring sale: {{1}} off everything this week."}]"""),
        new("sbx_new_offer", "new_offer", "en_US", "MARKETING", "PENDING",
            """[{"type":"BODY","text":"A new offer is waiting for you."}]"""),
    ];

    public async Task<SendResult> SendAsync(ProviderAccount account, JsonElement payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        var wamid = "wamid.SBX" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        // Like Meta: a phone in "to", or a business-scoped user id in "recipient" ("to" wins when both are there).
        var recipient = payload.TryGetProperty("to", out var to) ? to.GetString() : null;
        var userId = recipient is null && payload.TryGetProperty("recipient", out var bsuid) ? bsuid.GetString() : null;
        var callback = payload.TryGetProperty("biz_opaque_callback_data", out var cb) ? cb.GetString() : null;
        var delay = options.CurrentValue.SandboxStatusDelay;
        var steps = new[] { "sent", "delivered", "read" };
        for (var i = 0; i < steps.Length; i++)
        {
            var at = clock.GetUtcNow() + (delay * (i + 1));
            await inbound.EnqueueChangeAsync(StatusChange(account, wamid, recipient, callback, steps[i], at, userId), delay * (i + 1), cancellationToken).ConfigureAwait(false);
        }

        return SendResult.Ok(wamid);
    }

    public Task<TemplateListResult> ListTemplatesAsync(ProviderAccount account, CancellationToken cancellationToken = default) =>
        Task.FromResult(new TemplateListResult(Templates, null));

    public Task<SendResult> CheckAccountAsync(ProviderAccount account, CancellationToken cancellationToken = default) =>
        Task.FromResult(SendResult.Ok(SandboxNumber));

    /// <summary>The tier set in <c>WhatsApp:SandboxMessagingLimit</c> (<c>TIER_UNLIMITED</c> by default).</summary>
    public Task<MessagingLimitResult> GetMessagingLimitAsync(ProviderAccount account, CancellationToken cancellationToken = default)
    {
        var tier = options.CurrentValue.SandboxMessagingLimit;
        return Task.FromResult(new MessagingLimitResult(tier, MessagingTiers.CapOf(tier), null));
    }

    public const string SandboxNumber = "+15550100001";

    /// <summary>
    /// A <c>statuses</c> change exactly as Meta's webhook carries it: <c>recipient_id</c> only when the send went to a
    /// phone (Meta leaves it out for a username user reached by user id), <c>recipient_user_id</c> when one is known.
    /// </summary>
    public static string StatusChange(ProviderAccount account, string wamid, string? recipient, string? callback, string status, DateTimeOffset at, string? userId = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        var statusObject = new JsonObject
        {
            ["id"] = wamid,
            ["status"] = status,
            ["timestamp"] = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        };
        if (recipient is not null)
        {
            statusObject["recipient_id"] = recipient;
        }

        if (userId is not null)
        {
            statusObject["recipient_user_id"] = userId;
        }

        if (callback is not null)
        {
            statusObject["biz_opaque_callback_data"] = callback;
        }

        return new JsonObject
        {
            ["messaging_product"] = "whatsapp",
            ["metadata"] = new JsonObject { ["display_phone_number"] = SandboxNumber.TrimStart('+'), ["phone_number_id"] = account.PhoneNumberId },
            ["statuses"] = new JsonArray(statusObject),
        }.ToJsonString();
    }
}
