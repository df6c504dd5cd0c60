using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Functions.Http;

namespace Aisoule.Functions.Contacts;

/// <summary>
/// The contact fields a caller may send on create, update and in bulk (spec §4), with the limits of
/// <see cref="ContactLimits"/>: lengths in UTF-16 code units (an emoji counts 2), as the README's limits table says.
/// </summary>
public sealed record ContactRequest : IValidatableObject
{
    public const int MaxTagLength = ContactLimits.MaxTagLength;

    private const string WhatsAppUserIdFormat = "A WhatsApp business-scoped user id: two capital letters, a dot, an optional ENT. and 1 to 128 letters or digits (US.13491208655302741918).";

    [StringLength(40, ErrorMessage = "Invalid phone number")]
    public string? PhoneNumber { get; init; }

    [StringLength(WhatsAppUserId.MaxLength, ErrorMessage = WhatsAppUserIdFormat)]
    public string? WaUserId { get; init; }

    [StringLength(WhatsAppUserId.MaxLength, ErrorMessage = WhatsAppUserIdFormat)]
    public string? WaParentUserId { get; init; }

    [StringLength(ContactLimits.MaxUsername, ErrorMessage = "At most 64 characters (an emoji counts as 2).")]
    public string? Username { get; init; }

    [StringLength(ContactLimits.MaxName, ErrorMessage = "At most 200 characters (an emoji counts as 2).")]
    public string? Name { get; init; }

    [Email]
    public string? Email { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    [StringLength(ContactLimits.MaxStage, ErrorMessage = "At most 50 characters (an emoji counts as 2).")]
    public string? Stage { get; init; }

    public JsonElement? CustomFields { get; init; }

    public bool? OptedIn { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Tags is { } tags && (tags.Count > ContactLimits.MaxTags || tags.Any(t => t is null || t.Trim().Length is 0 or > MaxTagLength)))
        {
            yield return new ValidationResult($"At most {ContactLimits.MaxTags} tags, each 1 to {MaxTagLength} characters (an emoji counts as 2).", [nameof(Tags)]);
        }

        if (WaUserId is not null && !WhatsAppUserId.IsValid(WaUserId))
        {
            yield return new ValidationResult(WhatsAppUserIdFormat, [nameof(WaUserId)]);
        }

        if (WaParentUserId is not null && !WhatsAppUserId.IsValid(WaParentUserId))
        {
            yield return new ValidationResult(WhatsAppUserIdFormat, [nameof(WaParentUserId)]);
        }

        if (Username is not null && (Username.Trim().TrimStart('@').Length == 0 || Username.Any(char.IsControl)))
        {
            yield return new ValidationResult("A WhatsApp username as Meta shows it (@pablomorales): not blank nor only an @, no control characters.", [nameof(Username)]);
        }

        if (CustomFields is { } fields && fields.ValueKind != JsonValueKind.Null)
        {
            var ok = fields.ValueKind == JsonValueKind.Object
                && fields.EnumerateObject().Count() <= ContactLimits.MaxCustomFields
                && fields.EnumerateObject().All(p => p.Name.Length is > 0 and <= ContactLimits.MaxCustomFieldNameLength
                    && p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null);
            if (!ok)
            {
                yield return new ValidationResult(
                    $"An object of at most {ContactLimits.MaxCustomFields} fields (names 1 to {ContactLimits.MaxCustomFieldNameLength} characters) whose values are strings, numbers, booleans or null.",
                    [nameof(CustomFields)]);
            }
            else if (ContactLimits.StoredCustomFields(fields).Length > ContactLimits.MaxCustomFieldsChars)
            {
                // Measured as stored, after escaping: 8,000 emoji are 16,000 characters sent but 96,000 stored.
                yield return new ValidationResult(
                    "At most 16,384 characters as stored: compact JSON in which an emoji takes 12 characters (two \\uXXXX escapes) and a quote, backslash or control character 2 to 6.",
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
