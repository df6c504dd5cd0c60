using System.Text.Json;

namespace Aisoule.Core.Messaging.Sending;

/// <summary>A checked <c>POST /messages/send</c> body: the shape is valid; business rules are the service's.</summary>
public sealed record SendDraft
{
    /// <summary>E.164 with +, already normalised; or null when the send names <see cref="ContactId"/> or <see cref="UserId"/>.</summary>
    public string? To { get; init; }

    /// <summary>An existing contact to send to (exactly one of <see cref="To"/>, this and <see cref="UserId"/>).</summary>
    public string? ContactId { get; init; }

    /// <summary>A WhatsApp business-scoped user id (BSUID), already validated.</summary>
    public string? UserId { get; init; }

    /// <summary>text, template, image, video, document, audio or interactive.</summary>
    public required string Type { get; init; }

    public string? Text { get; init; }

    public TemplateRef? Template { get; init; }

    public MediaRef? Media { get; init; }

    /// <summary>The Cloud API's interactive object, passed through.</summary>
    public JsonElement? Interactive { get; init; }

    public string? AccountId { get; init; }

    public bool IsTemplate => Type == "template";
}

/// <summary><c>{name, language, components}</c>.</summary>
public sealed record TemplateRef(string Name, string Language, JsonElement? Components);

/// <summary><c>{url, caption?, filename?}</c>.</summary>
public sealed record MediaRef(string Url, string? Caption, string? Filename);

/// <summary>The 202 answer: <c>to</c> is null when the contact has no phone (the message goes to its <c>user_id</c>).</summary>
public sealed record SendAccepted(string MessageId, string Status, string? To, string WhatsappAccountId, string ContactId, string? UserId);

/// <summary>
/// Who Meta is asked to deliver to: the phone when it is known (Meta's advice: it keeps phones coming in its webhooks),
/// otherwise the business-scoped user id in Meta's <c>recipient</c> field.
/// </summary>
public sealed record Recipient(string? Phone, string? UserId)
{
    /// <summary>For sizing a payload before the contact is known: the longest recipient there can be.</summary>
    public static Recipient Longest { get; } = new(null, new string('X', Contacts.WhatsAppUserId.MaxLength));
}
