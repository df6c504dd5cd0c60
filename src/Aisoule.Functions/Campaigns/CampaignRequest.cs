using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Contacts;
using Aisoule.Core.Results;
using Aisoule.Core.WhatsApp;
using Aisoule.Functions.Messaging.Sending;

namespace Aisoule.Functions.Campaigns;

/// <summary><c>POST /campaigns</c> (spec §6).</summary>
public sealed record CampaignRequest : IValidatableObject
{
    public const int MaxContactIds = 1_000;
    public const int MaxTags = 20;

    [Required(ErrorMessage = "Required: a name for the campaign.")]
    [StringLength(200, MinimumLength = 1, ErrorMessage = "1 to 200 characters.")]
    public string? Name { get; init; }

    [StringLength(60, ErrorMessage = "Not an account id.")]
    public string? WhatsappAccountId { get; init; }

    [Required(ErrorMessage = "Required: {{name, language, components?}}.")]
    public TemplateField? Template { get; init; }

    [Required(ErrorMessage = "Required: {{tags[]?, stage?, contact_ids[]?}}, at least one of them.")]
    public AudienceField? Audience { get; init; }

    public DateTimeOffset? ScheduledAt { get; init; }

    public bool? DryRun { get; init; }

    /// <summary>Stored as a draft: nothing runs until it is given a time (<c>PATCH /campaigns/{id}</c>).</summary>
    public bool? Draft { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Template is not null)
        {
            foreach (var r in Template.Check())
            {
                yield return r;
            }

            if (Template.Components is { ValueKind: JsonValueKind.Array } components)
            {
                if (components.GetRawText().Length > CampaignService.MaxComponentsChars)
                {
                    yield return new ValidationResult($"At most {CampaignService.MaxComponentsChars:N0} characters of JSON.", ["Template.components"]);
                }

                foreach (var problem in ContactVariables.Problems(components))
                {
                    yield return new ValidationResult(problem, ["Template.components"]);
                }
            }
        }

        if (Audience is { } a)
        {
            var tags = a.Tags ?? [];
            var ids = a.ContactIds ?? [];
            if (tags.Count == 0 && a.Stage is null && ids.Count == 0)
            {
                yield return new ValidationResult("Give at least one of tags, stage and contact_ids.", ["Audience"]);
            }

            if (tags.Count > MaxTags || tags.Any(t => string.IsNullOrWhiteSpace(t) || t.Length > ContactLimits.MaxTagLength))
            {
                yield return new ValidationResult($"At most {MaxTags} tags, each 1 to {ContactLimits.MaxTagLength} characters.", ["Audience.tags"]);
            }

            if (a.Stage is { } stage && (string.IsNullOrWhiteSpace(stage) || stage.Length > 50))
            {
                yield return new ValidationResult("1 to 50 characters.", ["Audience.stage"]);
            }

            if (ids.Count > MaxContactIds)
            {
                yield return new ValidationResult($"At most {MaxContactIds:N0} contact ids; use tags for a larger audience.", ["Audience.contact_ids"]);
            }
            else if (ids.FirstOrDefault(id => !CampaignKeys.IsContactId(id)) is { } bad)
            {
                yield return new ValidationResult($"Not a contact id: {Trim(bad)}.", ["Audience.contact_ids"]);
            }
        }

        if (ScheduledAt is { } at && at.Offset != TimeSpan.Zero)
        {
            yield return new ValidationResult("A UTC time, such as 2026-12-24T09:00:00Z.", [nameof(ScheduledAt)]);
        }

        if (DryRun == true && Draft == true)
        {
            yield return new ValidationResult("A dry run is never stored, as a draft or otherwise.", [nameof(Draft)]);
        }
    }

    private static string Trim(string? text) => text is null ? "null" : text.Length > 40 ? text[..40] + "…" : text;

    public CampaignDraft ToDraft() => new(
        Name!.Trim(),
        WhatsappAccountId,
        Template!.Name!,
        Template.Language!,
        Template.Components is { ValueKind: JsonValueKind.Array } c ? c : null,
        new Audience([.. (Audience!.Tags ?? []).Select(t => t.Trim()).Distinct(StringComparer.OrdinalIgnoreCase)], Audience.Stage?.Trim(), [.. (Audience.ContactIds ?? []).Distinct(StringComparer.Ordinal)]),
        ScheduledAt,
        DryRun == true,
        Draft == true);
}

/// <summary><c>{tags[]?, stage?, contact_ids[]?}</c>: contacts with any of the tags (and in the stage, when both are given), plus the listed contacts.</summary>
public sealed record AudienceField
{
    public IReadOnlyList<string>? Tags { get; init; }

    public string? Stage { get; init; }

    public IReadOnlyList<string>? ContactIds { get; init; }
}

/// <summary><c>PATCH /campaigns/{id}</c>: a new start time for a draft or scheduled campaign.</summary>
public sealed record CampaignPatch : IValidatableObject
{
    [Required(ErrorMessage = "Required: the new start time in UTC (now or in the past: start now).")]
    public DateTimeOffset? ScheduledAt { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ScheduledAt is { } at && at.Offset != TimeSpan.Zero)
        {
            yield return new ValidationResult("A UTC time, such as 2026-12-24T09:00:00Z.", [nameof(ScheduledAt)]);
        }
    }
}

/// <summary><c>POST /campaigns/{id}/retry</c>.</summary>
public sealed record RetryRequest : IValidatableObject
{
    [Required(ErrorMessage = "Required: the failure categories to send again.")]
    public IReadOnlyList<string>? Categories { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Categories is { } c && (c.Count == 0 || c.Any(x => !CampaignFailures.All.Contains(x, StringComparer.Ordinal))))
        {
            yield return new ValidationResult($"One or more of: {string.Join(", ", CampaignFailures.All)}.", [nameof(Categories)]);
        }
    }
}
