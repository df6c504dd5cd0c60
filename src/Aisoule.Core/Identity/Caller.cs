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
}
