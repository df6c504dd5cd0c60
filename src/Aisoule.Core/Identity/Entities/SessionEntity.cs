using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity.Entities;

/// <summary>
/// Table <c>sessions</c>, partition = SHA-256 of the session token (the token itself is never stored). It can only
/// be found by whoever holds the token, and deleting it ends the session on every instance at once.
/// </summary>
public sealed class SessionEntity : ITableEntity
{
    public const string Row = "session";

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = Row;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string WorkspaceId { get; set; } = "";

    public string UserId { get; set; } = "";

    public string Role { get; set; } = "";

    public string CsrfHash { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset LastSeenAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
