using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aisoule.Core.Webhooks;

/// <summary>One delivery and the attempt a queue message is for.</summary>
public sealed record WebhookWorkItem([property: JsonPropertyName("i")] string DeliveryId, [property: JsonPropertyName("n")] int Attempt);

/// <summary>
/// A <c>webhookdeliveries</c> queue message: attempts of up to <see cref="MaxItems"/> deliveries of one webhook, made in
/// order (a relay run's events for that webhook, or one retry). <see cref="Deferrals"/> counts how often the rest of the
/// batch was put off because the endpoint was failing.
/// </summary>
public sealed record WebhookWork(
    [property: JsonPropertyName("w")] string WorkspaceId,
    [property: JsonPropertyName("h")] string WebhookId,
    [property: JsonPropertyName("d")] IReadOnlyList<WebhookWorkItem> Items,
    [property: JsonPropertyName("r")] int Deferrals = 0)
{
    public const int MaxItems = 100;

    public static WebhookWork One(string workspaceId, string webhookId, string deliveryId, int attempt) => new(workspaceId, webhookId, [new(deliveryId, attempt)]);

    public string ToJson() => JsonSerializer.Serialize(this);

    public static WebhookWork? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<WebhookWork>(json) is { WorkspaceId.Length: > 0, WebhookId.Length: > 0, Items.Count: > 0 and <= MaxItems } work
                && work.Items.All(i => i is { DeliveryId.Length: > 0, Attempt: > 0 })
                ? work
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
