using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Campaigns;

/// <summary>Table <c>campaigns</c>, row <c>c_{id}</c> in the workspace's partition. Only <see cref="CampaignStore"/> writes it.</summary>
public sealed class CampaignEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Id { get; set; } = "";

    public string Name { get; set; } = "";

    public string AccountId { get; set; } = "";

    public string PhoneNumberId { get; set; } = "";

    public string WabaId { get; set; } = "";

    public string TemplateName { get; set; } = "";

    public string TemplateLanguage { get; set; } = "";

    public string TemplateCategory { get; set; } = "";

    /// <summary>The template's components as given, expressions (<c>{{contact.name}}</c>) included; null when none were given.</summary>
    public string? ComponentsJson { get; set; }

    /// <summary>Whether <see cref="ComponentsJson"/> references contact fields (then each recipient holds its own, resolved).</summary>
    public bool Personalised { get; set; }

    /// <summary><see cref="Audience"/> as JSON.</summary>
    public string AudienceJson { get; set; } = "{}";

    public string Status { get; set; } = CampaignStatus.Draft;

    /// <summary><c>manual</c> or <c>messaging_limit</c> while paused.</summary>
    public string? PauseReason { get; set; }

    /// <summary>When a <c>messaging_limit</c> pause may resume (the oldest counted hour leaves the 24-hour window).</summary>
    public DateTimeOffset? ResumeAt { get; set; }

    public DateTimeOffset? ScheduledAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The recipient list is written (the audience is frozen).</summary>
    public bool Planned { get; set; }

    /// <summary>Why recipients were skipped at plan time, reason → count, as JSON.</summary>
    public string? SkipsJson { get; set; }

    /// <summary>The messaging-limit tier read at plan time, and the unique out-of-window recipients it allows per 24 h (null: no cap known).</summary>
    public string? Tier { get; set; }

    public int? TierCap { get; set; }

    /// <summary>Retry rounds started (0: the first send); a recipient's message of round N is created once.</summary>
    public int Round { get; set; }

    /// <summary>While a retry is being prepared: the categories asked for, as JSON (a second retry meanwhile is 409).</summary>
    public string? RetryCategoriesJson { get; set; }

    /// <summary>How many times the campaign was paused (each pause's event is keyed by it).</summary>
    public int PauseCount { get; set; }

    /// <summary>Why a failed campaign failed.</summary>
    public string? FailureReason { get; set; }

    public string? FailureCode { get; set; }

    public CampaignEntity Clone() => (CampaignEntity)MemberwiseClone();
}

/// <summary><c>draft → scheduled → running ⇄ paused → completed</c>, or <c>cancelled</c> / <c>failed</c>.</summary>
public static class CampaignStatus
{
    public const string Draft = "draft";
    public const string Scheduled = "scheduled";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";
    public const string Failed = "failed";

    public static IReadOnlyList<string> All { get; } = [Draft, Scheduled, Running, Paused, Completed, Cancelled, Failed];

    public static bool IsFinal(string status) => status is Completed or Cancelled or Failed;
}

public static class PauseReasons
{
    public const string Manual = "manual";
    public const string MessagingLimit = "messaging_limit";
}

/// <summary>
/// A recipient's status. <c>pending</c>: planned, no message yet; <c>queued</c>: its message is created and not yet
/// accepted by Meta (queued or sending); then its message's <c>sent</c>, <c>delivered</c>, <c>read</c> or
/// <c>failed</c>; <c>skipped</c> at plan time (with a reason); <c>cancelled</c> when the campaign was cancelled before
/// it was sent.
/// </summary>
public static class RecipientStatus
{
    public const string Pending = "pending";
    public const string Queued = "queued";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Read = "read";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
    public const string Cancelled = "cancelled";

    public static IReadOnlyList<string> All { get; } = [Pending, Queued, Sent, Delivered, Read, Failed, Skipped, Cancelled];
}

/// <summary>Why a contact of the audience is not sent to.</summary>
public static class SkipReasons
{
    public const string OptedOut = "opted_out";
    public const string NoUsableIdentifier = "no_usable_identifier";
    public const string MissingVariable = "missing_variable";
    public const string ContactNotFound = Results.ErrorCodes.ContactNotFound;
    public const string ValueTooLarge = "value_too_large";

    public static IReadOnlyList<string> All { get; } = [OptedOut, NoUsableIdentifier, MissingVariable, ContactNotFound, ValueTooLarge];
}

/// <summary>
/// Table <c>messages</c>, row <c>r_{campaign}_{contact}</c> in the partition of its messages: one contact of a
/// campaign's frozen recipient list. Written by the planner (insert), the fan-out (<c>pending → queued</c>, the commit
/// point of its message, under its ETag) and, after that, only inside its message's own transactions.
/// </summary>
public sealed class RecipientEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string CampaignId { get; set; } = "";

    public string ContactId { get; set; } = "";

    public string Status { get; set; } = RecipientStatus.Pending;

    /// <summary>The message of the current round: chosen at plan (and at each retry), created once at release.</summary>
    public string MessageId { get; set; } = "";

    public int Round { get; set; }

    /// <summary>The phone (E.164) or, without one, the WhatsApp user id, frozen at plan time.</summary>
    public string? To { get; set; }

    public string? UserId { get; set; }

    /// <summary>The contact's last message to us at plan time: inside 24 hours, the send does not count toward the messaging limit.</summary>
    public DateTimeOffset? LastInboundAt { get; set; }

    /// <summary>The template's components resolved for this contact at plan time (only for a personalised campaign).</summary>
    public string? ComponentsJson { get; set; }

    public string? SkipReason { get; set; }

    /// <summary>The variable whose value was missing (<see cref="SkipReasons.MissingVariable"/>).</summary>
    public string? MissingVariable { get; set; }

    public string? ErrorCode { get; set; }

    public string? ErrorTitle { get; set; }

    public string? ErrorCategory { get; set; }

    /// <summary>Meta accepted one of its messages (a wamid): a retry never sends to it again.</summary>
    public bool EverSent { get; set; }

    public DateTimeOffset? UpdatedAt { get; set; }
}
