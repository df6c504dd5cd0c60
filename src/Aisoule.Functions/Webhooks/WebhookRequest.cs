using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Aisoule.Core.Webhooks;

namespace Aisoule.Functions.Webhooks;

/// <summary>
/// <c>POST /webhooks</c>: <c>{name?, url, events[]}</c>, or a REST-hook subscribe as Zapier integrations send it —
/// <c>{target_url, event}</c>, <c>{hookUrl, event}</c> or <c>{url, event}</c> (Zapier's legacy <c>subscription_url</c>
/// is accepted and ignored).
/// </summary>
public sealed record WebhookRequest : IValidatableObject
{
    public string? Name { get; init; }

    public string? Url { get; init; }

    public string? TargetUrl { get; init; }

    [JsonPropertyName("hookUrl")]
    public string? HookUrl { get; init; }

    /// <summary>Zapier's legacy duplicate of the Zap's own URL: not where events go.</summary>
    [StringLength(WebhookTargets.MaxUrlLength)]
    public string? SubscriptionUrl { get; init; }

    [MaxLength(20, ErrorMessage = "At most 20 events; * subscribes to all.")]
    public IReadOnlyList<string>? Events { get; init; }

    [StringLength(50)]
    public string? Event { get; init; }

    /// <summary>The URL given, whichever field carried it.</summary>
    public string? TheUrl => Url ?? TargetUrl ?? HookUrl;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var urls = new[] { Url, TargetUrl, HookUrl }.Where(u => u is not null).Distinct(StringComparer.Ordinal).Count();
        if (urls == 0)
        {
            yield return new ValidationResult("Required: the URL to deliver to (url; target_url and hookUrl are accepted too).", [nameof(Url)]);
        }
        else if (urls > 1)
        {
            yield return new ValidationResult("Give the URL once: url, target_url and hookUrl name the same thing.", [nameof(Url)]);
        }

        if (Events is null && Event is null)
        {
            yield return new ValidationResult("Required: the events to deliver (events[], or event for one).", [nameof(Events)]);
        }
    }

    public WebhookDraft ToDraft() => new(Name, TheUrl!, [.. Events ?? [], .. Event is null ? [] : new[] { Event }]);
}

/// <summary><c>PATCH /webhooks/{id}</c>: any of <c>name</c>, <c>url</c>, <c>events</c>, <c>enabled</c>.</summary>
public sealed record WebhookPatchRequest : IValidatableObject
{
    public string? Name { get; init; }

    public string? Url { get; init; }

    [MaxLength(20, ErrorMessage = "At most 20 events; * subscribes to all.")]
    public IReadOnlyList<string>? Events { get; init; }

    public bool? Enabled { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Name is null && Url is null && Events is null && Enabled is null)
        {
            yield return new ValidationResult("Nothing to change: give name, url, events or enabled.", [nameof(Url)]);
        }
    }

    public WebhookPatch ToPatch() => new(Name, Url, Events, Enabled);
}

/// <summary><c>POST /webhooks/{id}/test</c>: the event whose sample to send (by default the first the webhook takes).</summary>
public sealed record WebhookTestRequest
{
    [StringLength(50)]
    public string? Event { get; init; }
}

/// <summary><c>POST /webhooks/{id}/recover</c>: replay every failed or exhausted delivery of events since then.</summary>
public sealed record WebhookRecoverRequest : IValidatableObject
{
    [Required(ErrorMessage = "Required: a UTC time, such as 2026-12-01T00:00:00Z.")]
    public DateTimeOffset? Since { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Since is { } at && at.Offset != TimeSpan.Zero)
        {
            yield return new ValidationResult("A UTC time, such as 2026-12-01T00:00:00Z.", [nameof(Since)]);
        }
    }
}
