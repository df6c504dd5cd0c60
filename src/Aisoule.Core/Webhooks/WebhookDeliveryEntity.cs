using System.Globalization;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Webhooks;

/// <summary>
/// Table <c>webhookdeliveries</c>, partition <c>{workspace}|{webhook}|{last hex digit of the id}</c>, row <c>d_{id}</c>:
/// one event for one subscription, recorded before its first attempt, with the exact body every attempt sends. Its id
/// is derived from the event and the time it happened, so a relay that records it twice finds the first (and ids sort
/// newest first). A webhook's deliveries and their attempts are spread over <see cref="Shards"/> partitions by the
/// id's last digit (a hash of the event): each delivery costs about four entity operations, and one partition (about
/// 2,000 a second on Azure) would cap a busy webhook near 500 deliveries a second.
/// </summary>
public sealed class WebhookDeliveryEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Id { get; set; } = "";

    public string WebhookId { get; set; } = "";

    /// <summary>The event's id: <c>webhook-id</c> and the body's <c>id</c>, the same on every attempt.</summary>
    public string EventId { get; set; } = "";

    public string Event { get; set; } = "";

    /// <summary>The body sent, exactly (UTF-8 JSON, under <see cref="WebhookEvents.MaxBodyBytes"/>).</summary>
    public string Body { get; set; } = "";

    /// <summary>When the event happened.</summary>
    public DateTimeOffset OccurredAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public string Status { get; set; } = WebhookDeliveryStatus.Pending;

    /// <summary><c>event</c>, <c>test</c> or <c>replay</c>: what made the current round of attempts.</summary>
    public string Trigger { get; set; } = WebhookTriggers.Event;

    /// <summary>Attempts made in all (numbering the queue messages: message n is for attempt n).</summary>
    public int Attempts { get; set; }

    /// <summary>Failed attempts in the current round (a replay starts a new round), which picks the next wait.</summary>
    public int Failures { get; set; }

    public DateTimeOffset? ClaimedAt { get; set; }

    public DateTimeOffset? NextAttemptAt { get; set; }

    public DateTimeOffset? LastAttemptAt { get; set; }

    public int? LastStatusCode { get; set; }

    public string? LastError { get; set; }

    public WebhookDeliveryEntity Clone() => (WebhookDeliveryEntity)MemberwiseClone();

    public const int Shards = 16;

    /// <summary>The partition of delivery <paramref name="deliveryId"/> (a valid id: its last character is a hex digit).</summary>
    public static string Partition(string workspaceId, string webhookId, string deliveryId) => PartitionPrefix(workspaceId, webhookId) + deliveryId[^1];

    /// <summary>Every partition of a webhook's deliveries, in key order.</summary>
    public static IEnumerable<string> Partitions(string workspaceId, string webhookId) =>
        Enumerable.Range(0, Shards).Select(i => PartitionPrefix(workspaceId, webhookId) + i.ToString("x", CultureInfo.InvariantCulture));

    /// <summary>A filter on every partition of a webhook's deliveries (one key range).</summary>
    public static string AllPartitionsFilter(string workspaceId, string webhookId) =>
        TableClient.CreateQueryFilter($"PartitionKey ge {PartitionPrefix(workspaceId, webhookId)} and PartitionKey lt {Storage.TableKeys.After(PartitionPrefix(workspaceId, webhookId))}");

    /// <summary>The workspace a delivery partition belongs to.</summary>
    public static string WorkspaceOf(string partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        var shard = partition.LastIndexOf('|');
        return partition[..partition.LastIndexOf('|', shard - 1)];
    }

    private static string PartitionPrefix(string workspaceId, string webhookId) => workspaceId + "|" + webhookId + "|";

    public static string Row(string id) => RowPrefix + id;

    public const string RowPrefix = "d_";

    public const string IdPrefix = "dlv_";

    /// <summary>Newest first by when the event happened; unique per event.</summary>
    public static string NewId(DateTimeOffset occurredAt, string eventId) =>
        IdPrefix + (DateTimeOffset.MaxValue.Ticks - occurredAt.UtcTicks).ToString("x16", CultureInfo.InvariantCulture) + eventId[(eventId.IndexOf('_') + 1)..][..16];

    public static bool IsId(string? id) =>
        id is { Length: 36 } && id.StartsWith(IdPrefix, StringComparison.Ordinal) && !id.AsSpan(IdPrefix.Length).ContainsAnyExcept(HexDigits);

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdef");
}

/// <summary>Row <c>a_{newest first}_{delivery}_{n}</c> beside its delivery: one attempt, as the deliveries list shows it.</summary>
public sealed class WebhookAttemptEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string DeliveryId { get; set; } = "";

    public string EventId { get; set; } = "";

    public string Event { get; set; } = "";

    public int Attempt { get; set; }

    public string Trigger { get; set; } = WebhookTriggers.Event;

    public DateTimeOffset AttemptedAt { get; set; }

    public int? StatusCode { get; set; }

    public int DurationMs { get; set; }

    /// <summary>The first 1 KB of the answer's body.</summary>
    public string? Response { get; set; }

    public string? Error { get; set; }

    public bool Succeeded { get; set; }

    /// <summary>What the delivery did next: <c>delivered</c>, <c>retrying</c> (then <see cref="NextAttemptAt"/>), <c>exhausted</c>, <c>failed</c>, <c>unsubscribed</c>.</summary>
    public string Outcome { get; set; } = "";

    public DateTimeOffset? NextAttemptAt { get; set; }

    public const string RowPrefix = "a_";

    public static string Row(DateTimeOffset at, string deliveryId, int attempt) =>
        RowPrefix + (DateTimeOffset.MaxValue.Ticks - at.UtcTicks).ToString("x16", CultureInfo.InvariantCulture) + "_" + deliveryId + "_" + attempt.ToString("d4", CultureInfo.InvariantCulture);
}

public static class WebhookDeliveryStatus
{
    /// <summary>Recorded, its first attempt not yet made.</summary>
    public const string Pending = "pending";

    /// <summary>An attempt is under way.</summary>
    public const string Delivering = "delivering";

    public const string Delivered = "delivered";

    /// <summary>The last attempt failed; another comes at <c>next_attempt_at</c>.</summary>
    public const string Retrying = "retrying";

    /// <summary>Failed and not retried (a test, a replay's last try, or a 410): replayable.</summary>
    public const string Failed = "failed";

    /// <summary>Every retry failed: replayable.</summary>
    public const string Exhausted = "exhausted";

    /// <summary>Its subscription was removed or disabled before it went.</summary>
    public const string Cancelled = "cancelled";

    public static IReadOnlyList<string> All { get; } = [Pending, Delivering, Delivered, Retrying, Failed, Exhausted, Cancelled];
}

public static class WebhookTriggers
{
    public const string Event = "event";
    public const string Test = "test";
    public const string Replay = "replay";
}

/// <summary>One attempt as <c>GET /webhooks/{id}/deliveries</c> shows it.</summary>
public sealed record WebhookAttemptView(
    string DeliveryId,
    string Event,
    string WebhookId,
    int Attempt,
    string Trigger,
    DateTimeOffset AttemptedAt,
    int? StatusCode,
    int DurationMs,
    string? ResponseBody,
    string? Error,
    bool Succeeded,
    string Outcome,
    DateTimeOffset? NextAttemptAt)
{
    public static WebhookAttemptView From(WebhookAttemptEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.DeliveryId, e.Event, e.EventId, e.Attempt, e.Trigger, e.AttemptedAt, e.StatusCode, e.DurationMs, e.Response, e.Error, e.Succeeded, e.Outcome, e.NextAttemptAt);
    }
}

public sealed record WebhookAttemptPage(IReadOnlyList<WebhookAttemptView> Deliveries, string? NextCursor);
