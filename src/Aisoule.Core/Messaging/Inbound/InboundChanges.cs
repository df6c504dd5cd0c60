using System.Text.Json;
using System.Text.Json.Nodes;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.WhatsApp;

namespace Aisoule.Core.Messaging.Inbound;

/// <summary>
/// The durable queue between Meta's webhook (and the sandbox, which answers the same way) and
/// <see cref="InboundProcessor"/>. One queue message per <c>entry[].changes[]</c> item of a webhook body, so each
/// stays small and is retried on its own; a change too large for one queue message goes as one message per item.
/// </summary>
public sealed class InboundChanges(StorageAccount storage)
{
    /// <summary>Queue messages are capped at 64 KB and travel base64-encoded; this leaves room.</summary>
    public const int MaxChangeBytes = 45_000;

    // The arrays of a change's value that hold one event per element; everything else is shared context.
    private static readonly string[] ItemArrays = ["messages", "statuses"];

    // A piece is written back with characters as they came (no \uXXXX growth): it is a queue message, not HTML.
    private static readonly JsonSerializerOptions PieceJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Splits a verified webhook body into its changes and enqueues each; returns how many queue messages (0 if it is
    /// not a WhatsApp body). When one event alone cannot fit a queue message, nothing is enqueued and the answer is a
    /// 413: all of the body or none of it.
    /// </summary>
    public async Task<Outcome<int>> EnqueueWebhookAsync(JsonElement body, CancellationToken cancellationToken = default)
    {
        var pieces = new List<string>();
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            return 0;
        }

        foreach (var entry in entries.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("changes", out var changes) || changes.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var change in changes.EnumerateArray())
            {
                if (change.ValueKind == JsonValueKind.Object && change.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Object)
                {
                    if (Split(value) is not { } split)
                    {
                        return new ApiError(ErrorCodes.PayloadTooLarge,
                            $"One event of this webhook is larger than the {MaxChangeBytes:N0} bytes a queue message can carry; nothing was queued.");
                    }

                    pieces.AddRange(split);
                }
            }
        }

        foreach (var piece in pieces)
        {
            await EnqueueChangeAsync(piece, null, cancellationToken).ConfigureAwait(false);
        }

        return pieces.Count;
    }

    /// <summary>One change's <c>value</c> object, as Meta's webhook carries it.</summary>
    public async Task EnqueueChangeAsync(string valueJson, TimeSpan? delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(valueJson);
        if (!Fits(valueJson))
        {
            throw new InvalidOperationException($"A webhook change of {valueJson.Length} characters does not fit a queue message.");
        }

        var queue = await storage.GetQueueAsync(MessagingNames.InboundQueue, cancellationToken).ConfigureAwait(false);
        await queue.SendMessageAsync(valueJson, visibilityTimeout: delay, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The value as it is when it fits; else one value per message or status, each with the shared context (metadata,
    /// contacts); null when even one event alone does not fit.
    /// </summary>
    private static List<string>? Split(JsonElement value)
    {
        // Meta escapes an emoji as two \uXXXX (12 bytes); written back as itself (4 bytes), a 4,096-emoji text fits.
        var whole = MetaJson.UnescapedPairs(value.GetRawText());
        if (Fits(whole))
        {
            return [whole];
        }

        var context = JsonNode.Parse(whole)!.AsObject();
        var items = new List<(string Array, JsonNode? Item)>();
        foreach (var name in ItemArrays)
        {
            if (context[name] is JsonArray array)
            {
                items.AddRange(array.Select(item => (name, item?.DeepClone())));
                context.Remove(name);
            }
        }

        if (items.Count <= 1)
        {
            return null;
        }

        var pieces = new List<string>(items.Count);
        foreach (var (array, item) in items)
        {
            var piece = (JsonObject)context.DeepClone();
            piece[array] = new JsonArray(item);
            var json = MetaJson.UnescapedPairs(piece.ToJsonString(PieceJson));
            if (!Fits(json))
            {
                return null;
            }

            pieces.Add(json);
        }

        return pieces;
    }

    private static bool Fits(string json) => System.Text.Encoding.UTF8.GetByteCount(json) <= MaxChangeBytes;
}
