using System.Text.Json;

namespace Aisoule.Core.WhatsApp;

/// <summary>Reading Meta's JSON bodies (Graph API answers, webhook changes), which may omit any field.</summary>
internal static class MetaJson
{
    /// <summary>A string property of an object, or "" when the element is not an object or the property is absent or not a string.</summary>
    public static string Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
}
