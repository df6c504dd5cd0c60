using System.Runtime.Serialization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Webhooks;

/// <summary>
/// Table <c>webhooks</c>, row <c>h_{id}</c> in the workspace's partition: one subscription. Its health lives in a row
/// of its own (<see cref="WebhookHealthEntity"/>), so deliveries never contend with a caller's edit.
/// </summary>
public sealed class WebhookEntity : ITableEntity
{
    private string _eventsJson = "[]";
    private IReadOnlyList<string>? _events;

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Id { get; set; } = "";

    public string? Name { get; set; }

    public string Url { get; set; } = "";

    /// <summary>The event names (or <c>*</c>) as a JSON array.</summary>
    public string EventsJson
    {
        get => _eventsJson;
        set => (_eventsJson, _events) = (value, null);
    }

    public bool Enabled { get; set; } = true;

    /// <summary>Signs every delivery (<c>whsec_…</c>). Never shown again after it was made.</summary>
    public string Secret { get; set; } = "";

    /// <summary>The secret before the last rotation, still signing beside the new one until <see cref="PreviousSecretUntil"/>.</summary>
    public string? PreviousSecret { get; set; }

    public DateTimeOffset? PreviousSecretUntil { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    [IgnoreDataMember]
    public IReadOnlyList<string> Events
    {
        // Read once per row: the relay asks every event whether the webhook wants it.
        get => _events ??= JsonSerializer.Deserialize<string[]>(EventsJson) ?? [];
        set => EventsJson = JsonSerializer.Serialize(value);
    }

    /// <summary>Whether this subscription takes <paramref name="eventName"/>, an event that happened at <paramref name="at"/> (none from before it existed).</summary>
    public bool Wants(string eventName, DateTimeOffset at) =>
        Enabled && at >= CreatedAt && Events.Any(e => e == WebhookEvents.All || e == eventName);

    /// <summary>The secrets that sign now: the current one, and the previous one during a rotation's 24 hours.</summary>
    public IReadOnlyList<string> SigningSecrets(DateTimeOffset now) =>
        PreviousSecret is { } previous && PreviousSecretUntil > now ? [Secret, previous] : [Secret];

    public WebhookEntity Clone() => (WebhookEntity)MemberwiseClone();
}

/// <summary>Row <c>hh_{id}</c>: consecutive failed events, and when the last delivery succeeded or failed.</summary>
public sealed class WebhookHealthEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public int ConsecutiveFailures { get; set; }

    public DateTimeOffset? LastSuccessAt { get; set; }

    public DateTimeOffset? LastFailureAt { get; set; }

    public string? LastError { get; set; }
}

/// <summary>A subscription as the API shows it: never its secret (only the answer that made it shows that).</summary>
public sealed record WebhookView(
    string Id,
    string? Name,
    string Url,
    IReadOnlyList<string> Events,
    bool Enabled,
    string Health,
    int ConsecutiveFailures,
    DateTimeOffset? LastSuccessAt,
    DateTimeOffset? LastFailureAt,
    string? LastError,
    DateTimeOffset? SecretRotationEndsAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>Failed events in a row after which a subscription shows <c>failing</c>.</summary>
    public const int FailingAfter = 3;

    public static WebhookView From(WebhookEntity e, WebhookHealthEntity? health, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        var failures = health?.ConsecutiveFailures ?? 0;
        return new(e.Id, e.Name, e.Url, e.Events, e.Enabled, failures >= FailingAfter ? "failing" : "healthy", failures,
            health?.LastSuccessAt, health?.LastFailureAt, health?.LastError, e.PreviousSecretUntil > now ? e.PreviousSecretUntil : null, e.CreatedAt, e.UpdatedAt);
    }
}

/// <summary>A subscription just made (or its secret just rotated): the only answers that carry the secret.</summary>
public sealed record WebhookWithSecret(
    string Id,
    string? Name,
    string Url,
    IReadOnlyList<string> Events,
    bool Enabled,
    string Health,
    string Secret,
    DateTimeOffset? SecretRotationEndsAt,
    DateTimeOffset CreatedAt)
{
    public static WebhookWithSecret From(WebhookView v, string secret)
    {
        ArgumentNullException.ThrowIfNull(v);
        return new(v.Id, v.Name, v.Url, v.Events, v.Enabled, v.Health, secret, v.SecretRotationEndsAt, v.CreatedAt);
    }
}
