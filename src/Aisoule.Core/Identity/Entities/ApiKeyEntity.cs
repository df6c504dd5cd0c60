using System.Runtime.Serialization;
using Aisoule.Core.RateLimiting;
using Azure;

namespace Aisoule.Core.Identity.Entities;

/// <summary>Table <c>apikeys</c>: partition = workspace, row = key id. Holds the key's SHA-256, never the key.</summary>
public sealed class ApiKeyEntity : IRateLogged
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Name { get; set; } = "";

    public string DisplayPrefix { get; set; } = "";

    public string KeyHash { get; set; } = "";

    public string UserId { get; set; } = "";

    /// <summary>The creator's role when the key was made.</summary>
    public string Role { get; set; } = "";

    /// <summary>Space-separated; already narrowed to what the creator's role allowed when it was made.</summary>
    public string Scopes { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }

    public long RequestCount { get; set; }

    /// <summary>The key's rate-limit sliding log; written by the same call that admits a request.</summary>
    public string RateLog { get; set; } = "";

    public ApiKeyEntity Clone() => (ApiKeyEntity)MemberwiseClone();

    [IgnoreDataMember]
    public IReadOnlyList<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
