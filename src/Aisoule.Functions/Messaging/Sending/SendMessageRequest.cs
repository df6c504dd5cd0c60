using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Results;
using Aisoule.Core.WhatsApp;

namespace Aisoule.Functions.Messaging.Sending;

/// <summary><c>POST /messages/send</c> (spec §5): the shape the seed's pages show.</summary>
public sealed record SendMessageRequest : IValidatableObject
{
    public static readonly string[] Types = ["text", "template", "image", "video", "document", "audio", "interactive"];

    /// <summary>The limit of <c>template.components</c> and <c>interactive</c>, measured as the stored payload holds them.</summary>
    internal const string TooLargeAsStored =
        "At most 28,000 characters as stored: compact JSON in which each character outside ASCII, and each of \" < > & ' + `, takes 6 (a \\uXXXX escape) and an emoji 12.";

    /// <summary>The recipient's phone; or instead <see cref="ContactId"/> or <see cref="UserId"/> (exactly one of the three).</summary>
    [StringLength(40, ErrorMessage = "Invalid phone number")]
    public string? To { get; init; }

    /// <summary>An existing contact, whatever it is known by (phone or WhatsApp user id).</summary>
    [StringLength(64, ErrorMessage = "Not a contact id.")]
    public string? ContactId { get; init; }

    /// <summary>A WhatsApp business-scoped user id (BSUID), as Meta's webhooks give it: never read as a phone.</summary>
    public string? UserId { get; init; }

    [Required(ErrorMessage = "Required: one of text, template, image, video, document, audio, interactive.")]
    public string? Type { get; init; }

    /// <summary>The message text (a string, as the seed shows).</summary>
    [StringLength(4096, ErrorMessage = "At most 4,096 characters.")]
    public string? Text { get; init; }

    public TemplateField? Template { get; init; }

    public MediaField? Image { get; init; }

    public MediaField? Video { get; init; }

    public MediaField? Document { get; init; }

    public MediaField? Audio { get; init; }

    public JsonElement? Interactive { get; init; }

    [StringLength(60, ErrorMessage = "Not an account id.")]
    public string? WhatsappAccountId { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var recipients = (To is null ? 0 : 1) + (ContactId is null ? 0 : 1) + (UserId is null ? 0 : 1);
        if (recipients != 1)
        {
            yield return new ValidationResult(
                recipients == 0 ? "Required: who to send to, as exactly one of to (a phone), contact_id or user_id." : "Give exactly one of to, contact_id and user_id.",
                [nameof(To)]);
        }

        if (UserId is not null && !WhatsAppUserId.IsValid(UserId))
        {
            yield return new ValidationResult("Not a WhatsApp user id: two capital letters, a dot, an optional ENT. and up to 128 letters and digits, such as US.13491208655302741918.", [nameof(UserId)]);
        }

        if (Type is not null && !Types.Contains(Type, StringComparer.Ordinal))
        {
            yield return new ValidationResult($"Must be one of: {string.Join(", ", Types)}.", [nameof(Type)]);
            yield break;
        }

        var given = new (string Name, bool Present)[]
        {
            ("text", Text is not null), ("template", Template is not null), ("image", Image is not null), ("video", Video is not null),
            ("document", Document is not null), ("audio", Audio is not null), ("interactive", Interactive is { ValueKind: not JsonValueKind.Null }),
        };
        foreach (var (name, present) in given)
        {
            if (present && name != Type)
            {
                yield return new ValidationResult($"Only the field named by type ('{Type}') may be sent.", [Field(name)]);
            }
        }

        switch (Type)
        {
            case "text" when string.IsNullOrWhiteSpace(Text):
                yield return new ValidationResult("Required for a text message: the message text, as a string.", [nameof(Text)]);
                break;
            case "template" when Template is null:
                yield return new ValidationResult("Required for a template message: {name, language, components?}.", [nameof(Template)]);
                break;
            case "template":
                foreach (var r in Template.Check())
                {
                    yield return r;
                }

                break;
            case "interactive" when Interactive is not { ValueKind: JsonValueKind.Object } i || !i.TryGetProperty("type", out _):
                yield return new ValidationResult("Required for an interactive message: the Cloud API's interactive object, with its type.", [nameof(Interactive)]);
                break;
            case "interactive" when MetaPayload.Chars(Interactive!.Value) > MetaPayload.MaxStructuredChars:
                yield return new ValidationResult(TooLargeAsStored, [nameof(Interactive)]);
                break;
            case "image" or "video" or "document" or "audio":
                var media = Media;
                if (media is null)
                {
                    yield return new ValidationResult($"Required for a {Type} message: {{url, caption?, filename?}}.", [Field(Type)]);
                }
                else if (!Uri.TryCreate(media.Url, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http") || media.Url!.Length > 2000)
                {
                    yield return new ValidationResult("url must be an absolute http(s) URL of at most 2,000 characters.", [Field(Type) + ".url"]);
                }
                else if (media.Caption is { Length: > 1024 } || media.Filename is { Length: > 240 })
                {
                    yield return new ValidationResult("caption is at most 1,024 characters, filename at most 240.", [Field(Type)]);
                }

                break;
        }
    }


    private MediaField? Media => Type switch
    {
        "image" => Image,
        "video" => Video,
        "document" => Document,
        "audio" => Audio,
        _ => null,
    };

    private static string Field(string name) => char.ToUpperInvariant(name[0]) + name[1..];

    /// <summary>The draft to send, with <c>to</c> in E.164; a <c>to</c> that is no phone number is 400 <c>invalid_phone_number</c>, as for contacts.</summary>
    public Outcome<SendDraft> ToDraft() => To is not null && E164.Normalise(To) is null ? ApiError.InvalidPhoneNumber("to") : new SendDraft
    {
        To = To is null ? null : E164.Normalise(To),
        ContactId = ContactId,
        UserId = UserId,
        Type = Type!,
        Text = Text,
        Template = Template is { } t ? new TemplateRef(t.Name!, t.Language!, t.Components) : null,
        Media = Media is { } m ? new MediaRef(m.Url!, m.Caption, m.Filename) : null,
        Interactive = Interactive,
        AccountId = WhatsappAccountId,
    };
}

/// <summary><c>{name, language, components}</c>, <c>language</c> a string such as <c>en_US</c>.</summary>
public sealed record TemplateField
{
    public string? Name { get; init; }

    public string? Language { get; init; }

    public JsonElement? Components { get; init; }

    internal IEnumerable<ValidationResult> Check()
    {
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 512)
        {
            yield return new ValidationResult("Required: the template's name.", ["Template.name"]);
        }

        if (string.IsNullOrWhiteSpace(Language) || Language.Length > 15)
        {
            yield return new ValidationResult("Required: the template's language code as a string, such as en_US.", ["Template.language"]);
        }

        if (Components is { } c && c.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
        {
            yield return new ValidationResult("An array of components, as the Cloud API takes them.", ["Template.components"]);
        }
        else if (Components is { ValueKind: JsonValueKind.Array } components)
        {
            // Text that is not text (a lone surrogate) never gets here: RequestBody refuses it, naming its path.
            if (MetaPayload.Chars(components) > MetaPayload.MaxStructuredChars)
            {
                yield return new ValidationResult(SendMessageRequest.TooLargeAsStored, ["Template.components"]);
            }
        }
    }
}

/// <summary><c>{url, caption?, filename?}</c>.</summary>
public sealed record MediaField
{
    public string? Url { get; init; }

    public string? Caption { get; init; }

    public string? Filename { get; init; }
}
