using System.Text.Json;
using Aisoule.Core.Json;

namespace Aisoule.Core.Campaigns;

/// <summary>A campaign's audience: contacts with any of <see cref="Tags"/> (and in <see cref="Stage"/> when both are given), plus <see cref="ContactIds"/>.</summary>
public sealed record Audience(IReadOnlyList<string> Tags, string? Stage, IReadOnlyList<string> ContactIds)
{
    public string ToJson() => JsonSerializer.Serialize(this, AisouleJson.Options);

    public static Audience FromJson(string json) => JsonSerializer.Deserialize<Audience>(json, AisouleJson.Options) ?? new([], null, []);
}

/// <summary><c>{total, queued, sent, delivered, read, failed, skipped, cancelled}</c>: <c>queued</c> counts pending and queued recipients.</summary>
public sealed record CampaignStats(long Total, long Queued, long Sent, long Delivered, long Read, long Failed, long Skipped, long Cancelled)
{
    public static CampaignStats From(IReadOnlyDictionary<string, long> byStatus)
    {
        ArgumentNullException.ThrowIfNull(byStatus);
        long Of(string status) => byStatus.TryGetValue(status, out var n) ? n : 0;
        return new(byStatus.Values.Sum(), Of(RecipientStatus.Pending) + Of(RecipientStatus.Queued), Of(RecipientStatus.Sent), Of(RecipientStatus.Delivered),
            Of(RecipientStatus.Read), Of(RecipientStatus.Failed), Of(RecipientStatus.Skipped), Of(RecipientStatus.Cancelled));
    }
}

public sealed record CampaignTemplateView(string Name, string Language, string Category);

public sealed record MessagingLimitView(string? Tier, int? Cap);

public sealed record CampaignFailureView(string Code, string Message);

/// <summary>A campaign as the API shows it (spec §6).</summary>
public sealed record CampaignView(
    string Id,
    string Name,
    string Status,
    string? PauseReason,
    DateTimeOffset? ScheduledAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset CreatedAt,
    string WhatsappAccountId,
    CampaignTemplateView Template,
    Audience Audience,
    CampaignStats Stats,
    IReadOnlyDictionary<string, long> SkippedByReason,
    MessagingLimitView? MessagingLimit,
    DateTimeOffset? ResumeAt,
    int Round,
    CampaignFailureView? Failure)
{
    public static CampaignView From(CampaignEntity e, CampaignStats stats)
    {
        ArgumentNullException.ThrowIfNull(e);
        var skips = e.SkipsJson is { } json ? JsonSerializer.Deserialize<Dictionary<string, long>>(json) ?? [] : [];
        return new(e.Id, e.Name, e.Status, e.PauseReason, e.ScheduledAt, e.StartedAt, e.CompletedAt, e.CreatedAt, e.AccountId,
            new(e.TemplateName, e.TemplateLanguage, e.TemplateCategory), Audience.FromJson(e.AudienceJson), stats, skips,
            e.Planned ? new(e.Tier, e.TierCap) : null, e.PauseReason == PauseReasons.MessagingLimit ? e.ResumeAt : null, e.Round,
            e.FailureCode is { } code ? new(code, e.FailureReason ?? "") : null);
    }
}

/// <summary>One recipient as <c>GET /campaigns/{id}/recipients</c> shows it.</summary>
public sealed record RecipientView(string ContactId, string? MessageId, string Status, string? SkipReason, string? MissingVariable, RecipientError? Error, int Round, DateTimeOffset? UpdatedAt)
{
    public static RecipientView From(RecipientEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var released = e.Status is not (RecipientStatus.Pending or RecipientStatus.Skipped) || e.Round > 0;
        return new(e.ContactId, released ? e.MessageId : null, e.Status, NullIfEmpty(e.SkipReason), NullIfEmpty(e.MissingVariable),
            e.Status == RecipientStatus.Failed && NullIfEmpty(e.ErrorCode) is { } code ? new(code, e.ErrorTitle ?? "", NullIfEmpty(e.ErrorCategory) ?? CampaignFailures.Categorize(code)) : null,
            e.Round, e.UpdatedAt);
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}

public sealed record RecipientError(string Code, string Title, string Category);

public sealed record RecipientPage(IReadOnlyList<RecipientView> Recipients, string? NextCursor);

public sealed record CampaignPage(IReadOnlyList<CampaignView> Campaigns, long Total, int Page, int PerPage);

/// <summary>What a campaign would do (the dry run): nothing is written.</summary>
public sealed record CampaignPlanView(
    long Audience,
    long Sendable,
    long Skipped,
    IReadOnlyDictionary<string, long> SkippedByReason,
    int ThroughputMps,
    double EstimatedSeconds,
    MessagingLimitPlan MessagingLimit);

/// <summary>The portfolio's 24-hour limit: its tier, what it allows, what was used, and what this campaign would use of what is left.</summary>
public sealed record MessagingLimitPlan(string? Tier, int? Cap, long Used24h, long? Headroom, long OutOfWindow, bool WouldPause);
