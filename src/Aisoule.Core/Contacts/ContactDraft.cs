using System.Text.Json;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Contact fields as a caller sent them, already checked at the edge (phone in E.164, user ids in <see cref="WhatsAppUserId"/> form). For an update only the
/// fields in <see cref="Present"/> change; a present null clears the field.
/// </summary>
public sealed record ContactDraft
{
    public string? PhoneNumber { get; init; }

    public string? WaUserId { get; init; }

    public string? WaParentUserId { get; init; }

    public string? Username { get; init; }

    public string? Name { get; init; }

    public string? Email { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public string? Stage { get; init; }

    public JsonElement? CustomFields { get; init; }

    public bool? OptedIn { get; init; }

    /// <summary>Snake_case names of the fields the caller sent.</summary>
    public IReadOnlySet<string> Present { get; init; } = new HashSet<string>();

    public bool Has(string field) => Present.Contains(field);
}
