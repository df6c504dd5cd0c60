using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Contacts;
using Aisoule.Core.Json;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Webhooks;

/// <summary>
/// The events a webhook can subscribe to (spec §7), the one serializer of a delivery's body
/// (<c>{id, event, timestamp, data}</c>, used for real deliveries, tests and samples alike), and the samples.
/// </summary>
public static class WebhookEvents
{
    public const string MessageIncoming = "message.incoming";
    public const string MessageSent = "message.sent";
    public const string MessageDelivered = "message.delivered";
    public const string MessageRead = "message.read";
    public const string MessageFailed = "message.failed";
    public const string ContactCreated = "contact.created";
    public const string ContactUpdated = "contact.updated";
    public const string CampaignStarted = "campaign.started";
    public const string CampaignPaused = "campaign.paused";
    public const string CampaignCompleted = "campaign.completed";

    /// <summary>Subscribes to every event, present and future.</summary>
    public const string All = "*";

    /// <summary>A body is kept under this (Standard Webhooks' advice; the largest, an incoming text of 4,096 emoji, is about 17 KB).</summary>
    public const int MaxBodyBytes = 20 * 1024;

    public static IReadOnlyList<string> Names { get; } =
    [
        MessageIncoming, MessageSent, MessageDelivered, MessageRead, MessageFailed, ContactCreated, ContactUpdated, CampaignStarted, CampaignPaused, CampaignCompleted,
    ];

    public static bool IsName(string? name) => name is not null && Names.Contains(name, StringComparer.Ordinal);

    /// <summary>
    /// The id of the event an outbox row holds: the same for every subscription and every attempt (so a receiver can
    /// de-duplicate on <c>webhook-id</c>), derived from where the row is stored, so a relay that runs twice gives the same.
    /// </summary>
    public static string EventId(string table, string partitionKey, string rowKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(table + "\n" + partitionKey + "\n" + rowKey));
        return "evt_" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }

    /// <summary>The body delivered for an event: <c>{"id","event","timestamp","data"}</c>, UTF-8.</summary>
    public static byte[] Body(string id, string name, DateTimeOffset timestamp, string dataJson)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(dataJson);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = AisouleJson.Options.Encoder }))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteString("event", name);
            writer.WriteString("timestamp", timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            writer.WritePropertyName("data");
            writer.WriteRawValue(dataJson, skipInputValidation: false);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The body for an outbox row of <paramref name="table"/>. One over <see cref="MaxBodyBytes"/> (a contact with very
    /// large custom fields), or whose data cannot be read, goes thin: <c>data</c> keeps the resource's <c>id</c> (or
    /// <c>message_id</c>) with <c>data_truncated: true</c>, and the caller reads the rest from the API.
    /// </summary>
    public static (string Id, byte[] Body) Body(string table, OutboxEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var id = EventId(table, e.PartitionKey, e.RowKey);
        try
        {
            var body = Body(id, e.Name, e.CreatedAt, e.Data);
            if (body.Length <= MaxBodyBytes)
            {
                return (id, body);
            }
        }
        catch (JsonException)
        {
            // Unreadable data: sent thin rather than blocking the events after it.
        }

        return (id, Body(id, e.Name, e.CreatedAt, Thin(e.Data)));
    }

    private static string Thin(string data)
    {
        var thin = new Dictionary<string, object?>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(data);
            foreach (var key in new[] { "id", "message_id", "contact_id" })
            {
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    thin[key] = value.GetString();
                }
            }
        }
        catch (JsonException)
        {
            // Nothing to keep.
        }

        thin["data_truncated"] = true;
        return JsonSerializer.Serialize(thin, AisouleJson.Options);
    }

    /// <summary>A few realistic bodies of <paramref name="name"/>, made by the same views and serializer as real deliveries.</summary>
    public static IReadOnlyList<byte[]> Samples(string name, DateTimeOffset now)
    {
        if (!IsName(name))
        {
            throw new ArgumentException("Not an event name.", nameof(name));
        }

        return [.. Enumerable.Range(0, 3).Select(i =>
        {
            var at = now.AddMinutes(-7 * (i + 1));
            var id = "evt_sample" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name + i)).AsSpan(0, 11));
            return Body(id, name, at, SampleData(name, i, at));
        })];
    }

    /// <summary>The <c>data</c> of the first sample of <paramref name="name"/> (what a test delivery sends under an id of its own).</summary>
    public static string SampleData(string name, DateTimeOffset now) =>
        IsName(name) ? SampleData(name, 0, now.AddMinutes(-7)) : throw new ArgumentException("Not an event name.", nameof(name));

    private static readonly string[] SampleNames = ["Pablo Morales", "Aiko Tanaka", "Grace Okafor"];
    private static readonly string[] SamplePhones = ["+16505551234", "+819012345678", null!];
    private static readonly string[] SampleUserIds = ["US.13491208655302741918", "JP.11223344556677889900", "NG.98765432109876543210"];
    private static readonly string[] SampleUsernames = [null!, null!, "@graceokafor"];

    private static string SampleData(string name, int i, DateTimeOffset at)
    {
        var contactId = "ct_" + (DateTimeOffset.MaxValue.Ticks - at.UtcTicks).ToString("x16", CultureInfo.InvariantCulture) + "5a3c91e" + i.ToString(CultureInfo.InvariantCulture);
        var phone = SamplePhones[i];
        var wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdCOUMxRDJFM0Y0QTVCNkM3" + i.ToString(CultureInfo.InvariantCulture);
        switch (name)
        {
            case ContactCreated or ContactUpdated:
                var contact = new ContactEntity
                {
                    Id = contactId,
                    PhoneNumber = phone,
                    WaUserId = SampleUserIds[i],
                    Username = SampleUsernames[i],
                    Name = SampleNames[i],
                    Email = i == 0 ? "pablo@example.com" : null,
                    TagsJson = i == 1 ? """["vip","newsletter"]""" : """["newsletter"]""",
                    Stage = i == 0 ? "customer" : "lead",
                    CustomFieldsJson = i == 0 ? """{"city":"Lisbon","plan":"pro"}""" : "{}",
                    OptedIn = i != 2,
                    CreatedAt = name == ContactCreated ? at : at.AddDays(-30),
                    UpdatedAt = at,
                    LastInboundAt = i == 0 ? at.AddHours(-2) : null,
                };
                return JsonSerializer.Serialize(ContactView.From(contact), AisouleJson.Options);
            case MessageIncoming:
                var texts = new[] { "Hi! Is my order #4521 on its way?", "Can I change my delivery address?", "Thanks, got it 👍" };
                return MessageLifecycle.EventData(new(wamid, phone, SampleUserIds[i], SampleUsernames[i], contactId, SampleNames[i], "text", texts[i], "wa_3f2a9c1e5b7d4f60a8e2c4b6"));
            case MessageSent or MessageDelivered or MessageRead or MessageFailed:
                var status = name["message.".Length..];
                var message = new MessageEntity
                {
                    Id = MessageKeys.IdPrefix + contactId[ContactKeys.IdPrefix.Length..],
                    Wamid = wamid,
                    Status = status,
                    To = phone,
                    UserId = phone is null ? SampleUserIds[i] : null,
                    Type = i == 1 ? "template" : "text",
                    ContactId = contactId,
                    AccountId = "wa_3f2a9c1e5b7d4f60a8e2c4b6",
                    ErrorCode = status == MessageStatus.Failed ? "131026" : null,
                    ErrorTitle = status == MessageStatus.Failed ? "Message undeliverable" : null,
                    CreatedAt = at.AddSeconds(-3),
                    SentAt = status == MessageStatus.Failed ? null : at.AddSeconds(-2),
                    DeliveredAt = status is MessageStatus.Delivered or MessageStatus.Read ? at.AddSeconds(-1) : null,
                    ReadAt = status == MessageStatus.Read ? at : null,
                };
                return JsonSerializer.Serialize(MessageView.From(message), AisouleJson.Options);
            default:
                var campaign = new CampaignEntity
                {
                    Id = CampaignKeys.IdPrefix + contactId[ContactKeys.IdPrefix.Length..],
                    Name = new[] { "Spring sale", "Order follow-up", "Webinar reminder" }[i],
                    Status = name switch { CampaignStarted => CampaignStatus.Running, CampaignPaused => CampaignStatus.Paused, _ => CampaignStatus.Completed },
                    PauseReason = name == CampaignPaused ? (i == 1 ? PauseReasons.MessagingLimit : PauseReasons.Manual) : null,
                    ResumeAt = name == CampaignPaused && i == 1 ? at.AddHours(3) : null,
                    StartedAt = at.AddMinutes(-5),
                    CompletedAt = name == CampaignCompleted ? at : null,
                    CreatedAt = at.AddMinutes(-10),
                    AccountId = "wa_3f2a9c1e5b7d4f60a8e2c4b6",
                    TemplateName = "spring_sale",
                    TemplateLanguage = "en_US",
                    TemplateCategory = "MARKETING",
                    AudienceJson = new Audience(["newsletter"], null, []).ToJson(),
                    Planned = name != CampaignStarted,
                    Tier = "TIER_10K",
                    TierCap = 10_000,
                };
                var stats = name switch
                {
                    CampaignStarted => new CampaignStats(0, 0, 0, 0, 0, 0, 0, 0),
                    CampaignPaused => new CampaignStats(1200, 700, 120, 260, 90, 10, 20, 0),
                    _ => new CampaignStats(1200, 0, 40, 610, 480, 25, 45, 0),
                };
                return JsonSerializer.Serialize(CampaignView.From(campaign, stats), AisouleJson.Options);
        }
    }
}
