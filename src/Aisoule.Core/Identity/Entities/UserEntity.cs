using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity.Entities;

/// <summary>Table <c>workspaces</c>, row <c>user_{id}</c>: a member of the workspace whose partition holds it.</summary>
public sealed class UserEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string UserId { get; set; } = "";

    public string Email { get; set; } = "";

    public string Name { get; set; } = "";

    public string Role { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public static string RowFor(string userId) => "user_" + userId;
}
