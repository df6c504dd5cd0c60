using System.Globalization;
using System.Text;
using System.Text.Json;
using Aisoule.Core.WhatsApp;

namespace Aisoule.Tests.Infrastructure;

/// <summary>Builds and posts webhook bodies exactly as Meta sends them, signed with the app secret.</summary>
internal static class MetaWebhook
{
    public const string AppSecret = "test-app-secret-0123456789";
    public const string VerifyToken = "test-verify-token";

    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public static string Inbound(string phoneNumberId, string from, string wamid, string text, string? profileName = "Asha", DateTimeOffset? at = null) =>
        Body(phoneNumberId, new
        {
            contacts = new[] { new { profile = new { name = profileName }, wa_id = from } },
            messages = new[] { new { from, id = wamid, timestamp = Seconds(at), type = "text", text = new { body = text } } },
        });

    public static string Status(string phoneNumberId, string wamid, string status, string? callback = null, DateTimeOffset? at = null, int? errorCode = null, string? errorTitle = null) =>
        Body(phoneNumberId, new
        {
            statuses = new[]
            {
                new
                {
                    id = wamid,
                    status,
                    timestamp = Seconds(at),
                    recipient_id = "15551234567",
                    biz_opaque_callback_data = callback,
                    errors = errorCode is { } c ? new[] { new { code = c, title = errorTitle ?? "Error" } } : null,
                },
            },
        });

    /// <summary>A messages change for <paramref name="phoneNumberId"/> around <paramref name="valueJson"/> (its <c>contacts</c>, <c>messages</c> or <c>statuses</c>), as Meta wraps it.</summary>
    public static string Change(string phoneNumberId, string valueJson) => Body(phoneNumberId, JsonDocument.Parse(valueJson).RootElement);

    /// <summary>A fresh WhatsApp message id, shaped like Meta's.</summary>
    public static string NewWamid() => "wamid.HBgL" + Guid.NewGuid().ToString("N").ToUpperInvariant() + "=";

    /// <summary>A fresh business-scoped user id (BSUID), shaped like Meta's.</summary>
    public static string NewUserId() => "US." + Random.Shared.NextInt64(1_000_000_000_000_000, 9_000_000_000_000_000_000).ToString(CultureInfo.InvariantCulture);

    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string body, string? signature = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "whatsapp/webhook") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Hub-Signature-256", signature ?? WebhookSignature.Sign(Encoding.UTF8.GetBytes(body), AppSecret));
        return await client.SendAsync(request);
    }

    private static string Body(string phoneNumberId, object value) => JsonSerializer.Serialize(new
    {
        @object = "whatsapp_business_account",
        entry = new[]
        {
            new
            {
                id = "102290129340398",
                changes = new[]
                {
                    new
                    {
                        field = "messages",
                        value = Merge(new { messaging_product = "whatsapp", metadata = new { display_phone_number = "15550100999", phone_number_id = phoneNumberId } }, value),
                    },
                },
            },
        },
    }, Options);

    private static Dictionary<string, JsonElement> Merge(object a, object b)
    {
        var merged = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(a, Options))!;
        foreach (var (k, v) in JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(b, Options))!)
        {
            merged[k] = v;
        }

        return merged;
    }

    private static string Seconds(DateTimeOffset? at) => (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
}
