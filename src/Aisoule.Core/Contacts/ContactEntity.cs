using System.Runtime.Serialization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Contacts;

/// <summary>Table <c>contacts</c>, row <c>c_{id}</c> in the workspace's partition.</summary>
public sealed class ContactEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Id { get; set; } = "";

    public string PhoneNumber { get; set; } = "";

    public string? Name { get; set; }

    public string? Email { get; set; }

    /// <summary>JSON array of strings.</summary>
    public string TagsJson { get; set; } = "[]";

    public string? Stage { get; set; }

    /// <summary>JSON object.</summary>
    public string CustomFieldsJson { get; set; } = "{}";

    public bool OptedIn { get; set; } = true;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? LastInboundAt { get; set; }

    [IgnoreDataMember]
    public IReadOnlyList<string> Tags
    {
        get => JsonSerializer.Deserialize<string[]>(TagsJson) ?? [];
        set => TagsJson = JsonSerializer.Serialize(value);
    }

    public ContactEntity Clone() => (ContactEntity)MemberwiseClone();
}
