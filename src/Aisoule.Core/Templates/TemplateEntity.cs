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

    public DateTimeOffset SyncedAt { get; set; }

    public bool IsApproved => string.Equals(Status, "APPROVED", StringComparison.OrdinalIgnoreCase);

    public bool IsMarketing => string.Equals(Category, "MARKETING", StringComparison.OrdinalIgnoreCase);

    public static string KeyOf(string accountId, string name, string language) =>
        $"{accountId}|{TableKeys.Encode(name)}|{TableKeys.Encode(language)}";
}

/// <summary>A template as the API shows it.</summary>
public sealed record TemplateView(string Id, string Name, string Language, string Category, string Status, System.Text.Json.JsonElement Components, string WhatsappAccountId)
{
    public static TemplateView From(TemplateEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.Id, e.Name, e.Language, e.Category, e.Status, System.Text.Json.JsonDocument.Parse(e.ComponentsJson).RootElement.Clone(), e.AccountId);
    }
}
