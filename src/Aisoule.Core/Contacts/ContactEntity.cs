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

    /// <summary>E.164, or null for a contact known only by its WhatsApp user id (Meta withholds a username user's phone).</summary>
    public string? PhoneNumber { get; set; }

    /// <summary>Meta's business-scoped user id (BSUID), e.g. <c>US.13491208655302741918</c>.</summary>
    public string? WaUserId { get; set; }

    /// <summary>Meta's parent BSUID (<c>US.ENT.…</c>), for managed businesses that enrolled.</summary>
    public string? WaParentUserId { get; set; }

    /// <summary>The WhatsApp username as Meta shows it, e.g. <c>@pablomorales</c>.</summary>
    public string? Username { get; set; }

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
