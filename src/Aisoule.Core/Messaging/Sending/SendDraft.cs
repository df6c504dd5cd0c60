using System.Text.Json;

namespace Aisoule.Core.Messaging.Sending;

/// <summary>A checked <c>POST /messages/send</c> body: the shape is valid; business rules are the service's.</summary>
public sealed record SendDraft
{
    /// <summary>E.164 with +, already normalised.</summary>
    public required string To { get; init; }

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

/// <summary>The 202 answer.</summary>
public sealed record SendAccepted(string MessageId, string Status, string To, string WhatsappAccountId);
