using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Aisoule.Core.WhatsApp;

/// <summary>
/// Meta's WhatsApp Cloud API over HTTP: <c>POST /{version}/{phone_number_id}/messages</c>,
/// <c>GET /{version}/{waba_id}/message_templates</c>, <c>GET /{version}/{phone_number_id}</c> (the account check and the
/// messaging-limit tier). Short-term resilience
/// (per-call timeout, a quick retry where repeating cannot send twice) comes from the HttpClient's resilience
/// pipeline (see <c>AddAisouleMessaging</c>); longer back-off belongs to the dispatcher, through the queue.
/// </summary>
public sealed partial class CloudWhatsAppProvider(HttpClient http, IOptionsMonitor<WhatsAppOptions> options, ILogger<CloudWhatsAppProvider> logger) : IWhatsAppProvider
{
    /// <summary>Pages of 100 read at most per template list: 10,000 templates, past Meta's per-WABA limit.</summary>
    public const int MaxTemplatePages = 100;

    public async Task<SendResult> SendAsync(ProviderAccount account, JsonElement payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        using var request = Request(HttpMethod.Post, $"{Uri.EscapeDataString(account.PhoneNumberId)}/messages", account);
        request.Content = new StringContent(payload.GetRawText(), Encoding.UTF8, "application/json");
        var (body, error) = await CallAsync(request, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return SendResult.Failed(error);
        }

        return body.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array && messages.GetArrayLength() > 0
            && messages[0].TryGetProperty("id", out var id) && id.GetString() is { Length: > 0 } wamid
            ? SendResult.Ok(wamid)
            : SendResult.Failed(new ProviderError(0, "The Graph API answered without a message id.", 200, null));
    }

    /// <summary>
    /// Every page of the WABA's templates, following Meta's <c>paging.next</c>. A list that cannot be read to its
    /// end (a next page off the configured Graph API, or more than <see cref="MaxTemplatePages"/> pages) is an
    /// error, not a shorter list: the sync then keeps what it has instead of deleting what it did not see.
    /// </summary>
    public async Task<TemplateListResult> ListTemplatesAsync(ProviderAccount account, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        var templates = new List<ProviderTemplate>();
        string? next = $"{Uri.EscapeDataString(account.WabaId)}/message_templates?limit=100&fields=id,name,language,category,status,parameter_format,components";
        for (var pages = 0; next is not null; pages++)
        {
            if (pages == MaxTemplatePages)
            {
                return new TemplateListResult(null, new ProviderError(0, $"The template list did not end after {MaxTemplatePages} pages.", 200, null));
            }

            using var request = Request(HttpMethod.Get, next, account);
            var (body, error) = await CallAsync(request, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return new TemplateListResult(null, error);
            }

            if (body.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            {
                foreach (var t in data.EnumerateArray())
                {
                    templates.Add(new ProviderTemplate(
                        MetaJson.Text(t, "id"), MetaJson.Text(t, "name"), MetaJson.Text(t, "language"), MetaJson.Text(t, "category"), MetaJson.Text(t, "status"),
                        t.TryGetProperty("components", out var c) ? c.GetRawText() : "[]",
                        MetaJson.Text(t, "parameter_format") is { Length: > 0 } format ? format : null));
                }
            }

            // Meta's paging.next is an absolute URL; the token goes with it, so only to the configured Graph API.
            next = body.TryGetProperty("paging", out var paging) && paging.ValueKind == JsonValueKind.Object
                && paging.TryGetProperty("next", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (next is not null && !OnGraphApi(next))
            {
                return new TemplateListResult(null, new ProviderError(0, "The next page of the list is not on the configured Graph API (WhatsApp:GraphBaseUrl); not followed.", 200, null));
            }
        }

        return new TemplateListResult(templates, null);
    }

    public async Task<SendResult> CheckAccountAsync(ProviderAccount account, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        using var request = Request(HttpMethod.Get, $"{Uri.EscapeDataString(account.PhoneNumberId)}?fields=display_phone_number,verified_name", account);
        var (body, error) = await CallAsync(request, cancellationToken).ConfigureAwait(false);
        return error is not null ? SendResult.Failed(error) : SendResult.Ok(MetaJson.Text(body, "display_phone_number"));
    }

    /// <summary>
    /// <c>GET /{phone_number_id}?fields=whatsapp_business_manager_messaging_limit</c>, answered
    /// <c>{"whatsapp_business_manager_messaging_limit":"TIER_250","id":"…"}</c>. A tier we do not know (or none at all)
    /// is logged and caps nothing: a new tier of Meta's must not stop campaigns.
    /// </summary>
    public async Task<MessagingLimitResult> GetMessagingLimitAsync(ProviderAccount account, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        using var request = Request(HttpMethod.Get, $"{Uri.EscapeDataString(account.PhoneNumberId)}?fields=whatsapp_business_manager_messaging_limit", account);
        var (body, error) = await CallAsync(request, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return new MessagingLimitResult(null, null, error);
        }

        var tier = MetaJson.Text(body, "whatsapp_business_manager_messaging_limit") is { Length: > 0 } value ? value : null;
        if (!MessagingTiers.IsKnown(tier))
        {
            UnknownTier(logger, tier ?? "(none)", account.PhoneNumberId);
        }

        return new MessagingLimitResult(tier, MessagingTiers.CapOf(tier), null);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unknown messaging-limit tier {Tier} for phone number {PhoneNumberId}: no cap applied")]
    private static partial void UnknownTier(ILogger logger, string tier, string phoneNumberId);

    /// <summary>Whether an absolute URL is under <c>WhatsApp:GraphBaseUrl</c> (same scheme, host, port and path prefix).</summary>
    private bool OnGraphApi(string url)
    {
        var graph = new Uri(options.CurrentValue.GraphBaseUrl.TrimEnd('/') + "/");
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length == 0 && graph.IsBaseOf(uri)
            && uri.Scheme == graph.Scheme && string.Equals(uri.Host, graph.Host, StringComparison.OrdinalIgnoreCase) && uri.Port == graph.Port;
    }

    private HttpRequestMessage Request(HttpMethod method, string pathAndQuery, ProviderAccount account)
    {
        var o = options.CurrentValue;
        var uri = Uri.TryCreate(pathAndQuery, UriKind.Absolute, out var absolute)
            ? absolute
            : new Uri($"{o.GraphBaseUrl.TrimEnd('/')}/{o.GraphVersion}/{pathAndQuery}");
        var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", account.AccessToken ?? "");
        return request;
    }

    private async Task<(JsonElement Body, ProviderError? Error)> CallAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            return (default, new ProviderError(0, "The Graph API did not answer in time.", 0, null));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (default, new ProviderError(0, "The Graph API did not answer in time.", 0, null));
        }
        catch (HttpRequestException ex)
        {
            return (default, new ProviderError(0, "The Graph API could not be reached: " + ex.HttpRequestError, 0, null));
        }

        using (response)
        {
            JsonElement body = default;
            try
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
            }

            if (response.IsSuccessStatusCode && body.ValueKind == JsonValueKind.Object)
            {
                return (body, null);
            }

            var retryAfter = response.Headers.RetryAfter is { } ra
                ? ra.Delta ?? (ra.Date is { } at ? at - DateTimeOffset.UtcNow : null)
                : null;
            if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = error.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : 0;
                return (default, new ProviderError(code, TitleOf(error, code), (int)response.StatusCode, retryAfter));
            }

            return (default, new ProviderError(0, $"The Graph API answered {(int)response.StatusCode} {response.ReasonPhrase}.", (int)response.StatusCode, retryAfter));
        }
    }

    /// <summary>Meta's human title: <c>error_data.details</c>/<c>error_user_title</c> when given, else the message without its "(#code) " prefix.</summary>
    private static string TitleOf(JsonElement error, int code)
    {
        if (error.TryGetProperty("error_user_title", out var userTitle) && userTitle.GetString() is { Length: > 0 } t)
        {
            return t;
        }

        var message = MetaJson.Text(error, "message");
        var prefix = "(#" + code.ToString(CultureInfo.InvariantCulture) + ") ";
        return message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
    }

}
