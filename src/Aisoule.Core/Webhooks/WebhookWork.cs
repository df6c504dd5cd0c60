using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aisoule.Core.Webhooks;

/// <summary>A <c>webhookdeliveries</c> queue message: make attempt <see cref="Attempt"/> of one delivery.</summary>
public sealed record WebhookWork(
    [property: JsonPropertyName("w")] string WorkspaceId,
    [property: JsonPropertyName("h")] string WebhookId,
    [property: JsonPropertyName("d")] string DeliveryId,
    [property: JsonPropertyName("n")] int Attempt)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static WebhookWork? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<WebhookWork>(json) is { WorkspaceId.Length: > 0, WebhookId.Length: > 0, DeliveryId.Length: > 0, Attempt: > 0 } work ? work : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
