namespace Aisoule.Core.Identity;

/// <summary>
/// Who is making a request, as established by the auth gate: always a workspace and a user, and either a
/// session or an API key. Every workspace-scoped read takes its workspace from here, never from the request.
/// </summary>
public sealed record Caller(string WorkspaceId, string UserId, string Role, IReadOnlyList<string> Scopes)
{
    public string? SessionId { get; init; }

    public string? KeyId { get; init; }

    public string? KeyName { get; init; }

    public bool ViaKey => KeyId is not null;

    public bool Has(string scope) => Scopes.Contains(scope, StringComparer.Ordinal);

    /// <summary>The same caller in every respect, scopes compared by value (a record compares the list by reference).</summary>
    public bool IsSameAs(Caller other) =>
        other is not null && WorkspaceId == other.WorkspaceId && UserId == other.UserId && Role == other.Role
        && SessionId == other.SessionId && KeyId == other.KeyId && KeyName == other.KeyName && Scopes.SequenceEqual(other.Scopes, StringComparer.Ordinal);
}
