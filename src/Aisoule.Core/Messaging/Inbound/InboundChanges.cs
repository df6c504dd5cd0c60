using System.Text.Json;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Messaging.Inbound;

/// <summary>
/// The durable queue between Meta's webhook (and the sandbox, which answers the same way) and
/// <see cref="InboundProcessor"/>. One queue message per <c>entry[].changes[]</c> item of a webhook body, so each
/// stays small and is retried on its own.
/// </summary>
public sealed class InboundChanges(StorageAccount storage)
{
    /// <summary>Queue messages are capped at 64 KB and travel base64-encoded; this leaves room.</summary>
    public const int MaxChangeBytes = 45_000;

    /// <summary>Splits a verified webhook body into its changes and enqueues each; returns how many (0 if it is not a WhatsApp body).</summary>
    public async Task<int> EnqueueWebhookAsync(JsonElement body, CancellationToken cancellationToken = default)
    {
        var count = 0;
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
                    await EnqueueChangeAsync(value.GetRawText(), null, cancellationToken).ConfigureAwait(false);
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>One change's <c>value</c> object, as Meta's webhook carries it.</summary>
    public async Task EnqueueChangeAsync(string valueJson, TimeSpan? delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(valueJson);
        if (System.Text.Encoding.UTF8.GetByteCount(valueJson) > MaxChangeBytes)
        {
            throw new InvalidOperationException($"A webhook change of {valueJson.Length} characters does not fit a queue message.");
        }

        var queue = await storage.GetQueueAsync(MessagingNames.InboundQueue, cancellationToken).ConfigureAwait(false);
        await queue.SendMessageAsync(valueJson, visibilityTimeout: delay, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
