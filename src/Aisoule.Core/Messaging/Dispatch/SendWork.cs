using System.Text.Json;
using System.Text.Json.Serialization;
using Aisoule.Core.Messaging.Messages;
using Azure;

namespace Aisoule.Core.Messaging.Dispatch;

/// <summary>
/// A <c>sends</c> queue message: which message, and which attempt it is for. A queue message whose attempt is
/// not the message's current one is stale (a redelivery or a duplicate enqueue) and does nothing.
/// </summary>
/// <remarks>
/// Written by whoever just wrote the message row (the request that stored it, a requeue), it also carries that row
/// as written, with its ETag (<see cref="Row"/>), so the dispatcher claims without reading it first: the claim is
/// guarded by that ETag, so it lands only if the row is still exactly that; if anything changed it meanwhile, the
/// claim fails, the row is read, and everything is decided again on what it is now. A row too large for a queue
/// message is left out, and read. <see cref="TraceParent"/> is the W3C <c>traceparent</c> of the span that enqueued it,
/// so the dispatcher continues the request's trace; a message written before it existed has none and works the same.
/// </remarks>
public sealed record SendWork(
    [property: JsonPropertyName("w")] string WorkspaceId,
    [property: JsonPropertyName("m")] string MessageId,
    [property: JsonPropertyName("a")] int Attempt,
    [property: JsonPropertyName("r"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MessageEntity? Row = null,
    [property: JsonPropertyName("t"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceParent = null)
{
    /// <summary>
    /// Characters of JSON a queue message may hold with its row: a queue message is 64 KiB after base64 (48 KiB of
    /// UTF-8), and the JSON is ASCII (everything else escaped).
    /// </summary>
    public const int MaxChars = 40_000;

    /// <summary>The message row's properties as they are, its ETag as a string (<see cref="ETagJsonConverter"/>).</summary>
    private static readonly JsonSerializerOptions Json = new();

    /// <summary>The JSON of the queue message: with the row if it fits in <see cref="MaxChars"/>, else without.</summary>
    public string ToJson()
    {
        var json = JsonSerializer.Serialize(this, Json);
        return json.Length <= MaxChars || Row is null ? json : JsonSerializer.Serialize(this with { Row = null }, Json);
    }

    public static SendWork? Parse(string json)
    {
        try
        {
            if (JsonSerializer.Deserialize<SendWork>(json, Json) is not { WorkspaceId.Length: > 0, MessageId.Length: > 0 } work)
            {
                return null;
            }

            // A row that is not this message's (or has no ETag to guard the claim) is not used.
            return work.Row is { } row && (row.Id != work.MessageId || row.ETag == default || row.PartitionKey != MessageKeys.Partition(work.WorkspaceId, work.MessageId))
                ? work with { Row = null }
                : work;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>An ETag as its string.</summary>
internal sealed class ETagJsonConverter : JsonConverter<ETag>
{
    public override ETag Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString() is { Length: > 0 } text ? new ETag(text) : default;

    public override void Write(Utf8JsonWriter writer, ETag value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

