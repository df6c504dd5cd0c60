using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aisoule.Core.Messaging.Dispatch;

/// <summary>
/// A <c>sends</c> queue message: which message, and which attempt it is for. A queue message whose attempt is
/// not the message's current one is stale (a redelivery or a duplicate enqueue) and does nothing.
/// </summary>
public sealed record SendWork(
    [property: JsonPropertyName("w")] string WorkspaceId,
    [property: JsonPropertyName("m")] string MessageId,
    [property: JsonPropertyName("a")] int Attempt)
{
    public string ToJson() => JsonSerializer.Serialize(this, MessagingJson.Default.SendWork);

    public static SendWork? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, MessagingJson.Default.SendWork) is { WorkspaceId.Length: > 0, MessageId.Length: > 0 } work ? work : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSerializable(typeof(SendWork))]
internal sealed partial class MessagingJson : JsonSerializerContext;
