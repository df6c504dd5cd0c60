using Aisoule.Core.Identity.Entities;

namespace Aisoule.Core.Identity;

/// <summary>A user as the API shows it.</summary>
public sealed record UserView(string Id, string Email, string Name, string Role, DateTimeOffset CreatedAt)
{
    internal static UserView From(UserEntity user) => new(user.UserId, user.Email, user.Name, user.Role, user.CreatedAt);
}

/// <summary>A workspace as the API shows it.</summary>
public sealed record WorkspaceView(string Id, string Name, DateTimeOffset CreatedAt)
{
    internal static WorkspaceView From(WorkspaceEntity workspace) => new(workspace.PartitionKey, workspace.Name, workspace.CreatedAt);
}

/// <summary>The result of sign-up or login: who, where, and the new session's token and CSRF token.</summary>
public sealed record SignedIn(UserView User, WorkspaceView Workspace, string SessionToken, string CsrfToken, DateTimeOffset ExpiresAt);

/// <summary>An API key as <c>GET /keys</c> shows it: never the key, never its hash.</summary>
public sealed record KeyView(
    string Id,
    string Name,
    string Prefix,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    string Status,
    long RequestCount)
{
    internal static KeyView From(ApiKeyEntity key, DateTimeOffset now) => new(
        key.RowKey, key.Name, key.DisplayPrefix, key.ScopeList, key.CreatedAt, key.LastUsedAt, key.ExpiresAt, key.RevokedAt,
        key.RevokedAt is not null ? "revoked" : key.ExpiresAt <= now ? "expired" : "active",
        key.RequestCount);
}

/// <summary>A key just created: its view plus the key itself, shown this once.</summary>
public sealed record CreatedKey(KeyView View, string Key);
