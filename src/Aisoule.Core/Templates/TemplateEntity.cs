using System.Runtime.Serialization;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Templates;

/// <summary>Table <c>watemplates</c>: a message template of one account, in the workspace's partition.</summary>
public sealed class TemplateEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    /// <summary><see cref="KeyOf"/>.</summary>
    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Id { get; set; } = "";

    public string AccountId { get; set; } = "";

    public string Name { get; set; } = "";

    public string Language { get; set; } = "";

    public string Category { get; set; } = "";

    /// <summary>Meta's status: APPROVED, PENDING, REJECTED, PAUSED, DISABLED…</summary>
    public string Status { get; set; } = "";

    public string ComponentsJson { get; set; } = "[]";

    /// <summary>Meta's <c>parameter_format</c> as synced (<see cref="TemplateParameters"/>); null on a row synced before it was kept.</summary>
    public string? ParameterFormat { get; set; }

    /// <summary>The parameters declared per component, <see cref="TemplateParameters.Declared"/> as JSON; null with <see cref="ParameterFormat"/>.</summary>
    public string? ParametersJson { get; set; }

    public DateTimeOffset SyncedAt { get; set; }

    /// <summary>One-tap, zero-tap and copy-code codes: Meta delivers these to a phone only (131062 for a user id).</summary>
    public bool IsAuthentication => string.Equals(Category, "AUTHENTICATION", StringComparison.OrdinalIgnoreCase);

    public bool IsApproved => string.Equals(Status, "APPROVED", StringComparison.OrdinalIgnoreCase);

    public bool IsMarketing => string.Equals(Category, "MARKETING", StringComparison.OrdinalIgnoreCase);

    /// <summary>Meta's <c>parameter_format</c>, positional when Meta did not say (its default).</summary>
    [IgnoreDataMember]
    public string Format => TemplateParameters.FormatOf(ParameterFormat);

    /// <summary>The parameters declared per component: as stored at sync, or read from the components of an older row.</summary>
    [IgnoreDataMember]
    public Dictionary<string, List<string>> DeclaredParameters =>
        (ParametersJson is { } json ? System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, List<string>>>(json) : null)
        ?? TemplateParameters.Declared(Format, ComponentsJson);

    public static string KeyOf(string accountId, string name, string language) =>
        $"{accountId}|{TableKeys.Encode(name)}|{TableKeys.Encode(language)}";
}

/// <summary>
/// A template as the API shows it; <c>parameters</c> lists, for the header (a text header) and the body, the names a
/// named template's values carry, or <c>"1"</c>, <c>"2"</c>… for a positional one (that many values, in order).
/// </summary>
public sealed record TemplateView(string Id, string Name, string Language, string Category, string Status, System.Text.Json.JsonElement Components, string ParameterFormat, IReadOnlyDictionary<string, List<string>> Parameters, string WhatsappAccountId)
{
    public static TemplateView From(TemplateEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        using var components = System.Text.Json.JsonDocument.Parse(e.ComponentsJson);
        return new(e.Id, e.Name, e.Language, e.Category, e.Status, components.RootElement.Clone(), e.Format, e.DeclaredParameters, e.AccountId);
    }
}
