using System.Text.Json;
using Aisoule.Core.Contacts;

namespace Aisoule.Core.Campaigns;

/// <summary>Placeholder until the vars branch lands.</summary>
public static class ContactVariables
{
    public sealed record Resolution(string? ComponentsJson, string? MissingVariable);

    public static IReadOnlyList<string> Problems(JsonElement components) => [];

    public static bool Uses(JsonElement components) => components.GetRawText().Contains("{{contact.", StringComparison.Ordinal);

    public static Resolution Resolve(JsonElement components, ContactEntity contact) => new(components.GetRawText(), null);

    public static string Sample(JsonElement components) => components.GetRawText();
}
