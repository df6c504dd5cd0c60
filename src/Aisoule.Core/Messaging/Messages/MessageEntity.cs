using System.Runtime.Serialization;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging.Messages;

/// <summary>
/// Table <c>messages</c>, in one of the workspace's message partitions (<see cref="MessageKeys.Partition"/>). Row
/// <c>m_{id}</c> is the message; <c>k_{contact}_{id}</c> and <c>s_{status}_{id}</c> index it; <c>n_total_…</c> count
/// the partition's messages; <c>o_…</c> are outbox events for the webhooks issue. Inbound messages (<c>i_{wamid}</c>)
/// and their events are in the partition named by the workspace id alone.
/// </summary>
public sealed class MessageEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    [IgnoreDataMember]
    [System.Text.Json.Serialization.JsonIgnore]
    public string WorkspaceId => MessageKeys.WorkspaceOf(PartitionKey);

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    [System.Text.Json.Serialization.JsonConverter(typeof(Dispatch.ETagJsonConverter))]
    public ETag ETag { get; set; }

    public string Id { get; set; } = "";

    public string ContactId { get; set; } = "";

    /// <summary>E.164 with +, the phone Meta was asked to deliver to; null when the contact has no phone.</summary>
    public string? To { get; set; }

    /// <summary>The contact's WhatsApp business-scoped user id (BSUID) when known; Meta's <c>recipient</c> when there is no phone.</summary>
    public string? UserId { get; set; }

    public string Type { get; set; } = "";

    public string AccountId { get; set; } = "";

    public string PhoneNumberId { get; set; } = "";

    /// <summary>The body for Meta's <c>/messages</c>, built and checked at request time.</summary>
    public string PayloadJson { get; set; } = "{}";

    public string Status { get; set; } = MessageStatus.Queued;

    public string? Wamid { get; set; }

    public string? ErrorCode { get; set; }

    public string? ErrorTitle { get; set; }

    /// <summary>Provider calls made so far; the queue message carries the attempt it is for.</summary>
    public int Attempts { get; set; }

    /// <summary>Provider failures worth retrying so far; at <c>WhatsApp:MaxAttempts</c> the message fails.</summary>
    public int Failures { get; set; }

    /// <summary>Set when a dispatcher takes the message for a provider call (status <c>sending</c>).</summary>
    public DateTimeOffset? ClaimedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? SentAt { get; set; }

    public DateTimeOffset? DeliveredAt { get; set; }

    public DateTimeOffset? ReadAt { get; set; }

    public DateTimeOffset? FailedAt { get; set; }

    /// <summary>The campaign that sent it (its recipient row is <c>r_{campaign}_{ContactId}</c> in this partition), or null.</summary>
    public string? CampaignId { get; set; }

    /// <summary>
    /// A random id of the write that last changed the row (<see cref="MessageKeys.NewWriteId"/>). A writer whose answer
    /// was lost (the storage client retried a write that had landed, and the retry met it: 412 or 409) reads the row
    /// back and knows its write landed when it finds its own id here.
    /// </summary>
    public string? WriteId { get; set; }

    public MessageEntity Clone() => (MessageEntity)MemberwiseClone();
}

/// <summary>
/// <c>queued → sending → sent → delivered → read</c>, or <c>failed</c>. Statuses only move forward.
/// </summary>
public static class MessageStatus
{
    public const string Queued = "queued";
    public const string Sending = "sending";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Read = "read";
    public const string Failed = "failed";

    public static IReadOnlyList<string> All { get; } = [Queued, Sending, Sent, Delivered, Read, Failed];

    /// <summary>Position on the delivery path; failed is not on it.</summary>
    public static int Rank(string status) => status switch
    {
        Queued => 0,
        Sending => 1,
        Sent => 2,
        Delivered => 3,
        Read => 4,
        _ => -1,
    };
}

/// <summary>An error Meta (or we) gave a message.</summary>
public sealed record MessageError(string Code, string Title);

/// <summary>A message as the API shows it (spec §5).</summary>
public sealed record MessageView(
    string MessageId,
    string? Wamid,
    string Status,
    string? To,
    string Type,
    string ContactId,
    string? UserId,
    string WhatsappAccountId,
    MessageError? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SentAt,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset? ReadAt)
{
    public static MessageView From(MessageEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.Id, e.Wamid, e.Status, e.To, e.Type, e.ContactId, e.UserId, e.AccountId,
            e.Status == MessageStatus.Failed && e.ErrorCode is not null ? new MessageError(e.ErrorCode, e.ErrorTitle ?? "") : null, e.CreatedAt, e.SentAt, e.DeliveredAt, e.ReadAt);
    }
}

/// <summary>Table <c>wamids</c>: which workspace and message a WhatsApp message id belongs to.</summary>
public sealed class WamidEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string WorkspaceId { get; set; } = "";

    public string MessageId { get; set; } = "";
}
