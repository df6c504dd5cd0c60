using System.Text.Json;
using Aisoule.Core.Json;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Contacts;

/// <summary>
/// The documented limits of a contact's fields, in characters as .NET and Table Storage count them (UTF-16 code
/// units: an emoji is 2). They are chosen so that everything a contact becomes always fits Table Storage: the contact
/// row, its index keys (escaped; the name index keeps a bounded prefix, <see cref="ContactKeys.MaxNameKeyChars"/>)
/// and its outbox event, which holds all of it again as JSON with <see cref="AisouleJson"/>'s escapes. With every
/// field at its limit and every character escaped to <c>\uXXXX</c>, that event is under 26,000 of the 32,768
/// characters a property may hold.
/// </summary>
public static class ContactLimits
{
    public const int MaxName = 200;
    public const int MaxEmail = 254;
    public const int MaxTags = 20;
    public const int MaxTagLength = 50;
    public const int MaxStage = 50;

    /// <summary>A WhatsApp username as Meta shows it (<c>@pablomorales</c>); Meta's own are far shorter.</summary>
    public const int MaxUsername = 64;
    public const int MaxCustomFields = 50;
    public const int MaxCustomFieldNameLength = 50;

    /// <summary><c>custom_fields</c> as stored: <see cref="StoredCustomFields"/>, escapes counted in full.</summary>
    public const int MaxCustomFieldsChars = 16 * 1024;

    /// <summary>
    /// <c>custom_fields</c> as the contact row and its events store it: compact JSON in which quotes, backslashes,
    /// control characters and characters outside the Basic Multilingual Plane (emoji) are <c>\uXXXX</c> escapes.
    /// </summary>
    public static string StoredCustomFields(JsonElement fields) => JsonSerializer.Serialize(fields, AisouleJson.Options);

    /// <summary>A name from outside the API (a WhatsApp profile) cut to <see cref="MaxName"/>, never inside a surrogate pair.</summary>
    public static string? CutName(string? name) => name is null ? null : StoredSize.Cut(name, MaxName);

    /// <summary>A username from Meta's webhook cut to <see cref="MaxUsername"/>; empty is none.</summary>
    public static string? CutUsername(string? username) => string.IsNullOrWhiteSpace(username) ? null : StoredSize.Cut(username.Trim(), MaxUsername);
}
