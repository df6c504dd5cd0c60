using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity.Entities;

/// <summary>
/// Table <c>logins</c>, one row per email (partition = SHA-256 of the normalised email): what a login needs to
/// find its user. Inserting it is the single commit point of creating an account, so two racing sign-ups or
/// owner bootstraps for one email make exactly one account.
/// </summary>
public sealed class LoginEntity : ITableEntity
{
    public const string Row = "login";

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = Row;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Email { get; set; } = "";

    public string PasswordHash { get; set; } = "";

    public string WorkspaceId { get; set; } = "";

    public string UserId { get; set; } = "";

    // Kept so the workspace and user rows can be (re)created from this row alone after a crash.
    public string Name { get; set; } = "";

    public string WorkspaceName { get; set; } = "";

    public string Role { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }
}
