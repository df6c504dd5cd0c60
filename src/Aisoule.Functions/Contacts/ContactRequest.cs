using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Aisoule.Functions.Http;

namespace Aisoule.Functions.Contacts;

/// <summary>The contact fields a caller may send on create, update and in bulk (spec §4).</summary>
public sealed record ContactRequest : IValidatableObject
{
    public const int MaxTags = 20;
    public const int MaxTagLength = 50;
    public const int MaxCustomFields = 50;
    public const int MaxCustomFieldsBytes = 16 * 1024;

    [StringLength(40, ErrorMessage = "Invalid phone number")]
    public string? PhoneNumber { get; init; }

    [StringLength(200, ErrorMessage = "At most 200 characters.")]
    public string? Name { get; init; }

    [Email]
    public string? Email { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    [StringLength(50, ErrorMessage = "At most 50 characters.")]
    public string? Stage { get; init; }

    public JsonElement? CustomFields { get; init; }

    public bool? OptedIn { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Tags is { } tags && (tags.Count > MaxTags || tags.Any(t => t is null || t.Trim().Length is 0 or > MaxTagLength)))
        {
            yield return new ValidationResult($"At most {MaxTags} tags, each 1 to {MaxTagLength} characters.", [nameof(Tags)]);
        }

        if (CustomFields is { } fields && fields.ValueKind != JsonValueKind.Null)
        {
            var ok = fields.ValueKind == JsonValueKind.Object
                && fields.EnumerateObject().Count() <= MaxCustomFields
                && fields.EnumerateObject().All(p => p.Name.Length is > 0 and <= 50
                    && p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null)
                && fields.GetRawText().Length <= MaxCustomFieldsBytes;
            if (!ok)
            {
                yield return new ValidationResult(
                    $"An object of at most {MaxCustomFields} fields (names 1 to 50 characters) whose values are strings, numbers, booleans or null; at most 16 KB.",
                    [nameof(CustomFields)]);
            }
        }
    }
}

/// <summary><c>POST /contacts/bulk</c>: items are parsed one by one, so one bad item fails only itself.</summary>
public sealed record BulkContactsRequest
{
    public const int MaxItems = 1000;

    [Required(ErrorMessage = "Required.")]
    [MaxLength(MaxItems, ErrorMessage = "At most 1000 contacts per request.")]
    public IReadOnlyList<JsonElement>? Contacts { get; init; }
}
