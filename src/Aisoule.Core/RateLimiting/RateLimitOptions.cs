using System.ComponentModel.DataAnnotations;

namespace Aisoule.Core.RateLimiting;

/// <summary>
/// Settings under <c>RateLimiting:</c>. Per API key and per session user; a workspace may have its own limits
/// under <c>RateLimiting:Workspaces:{workspace id}:PerMinute</c> / <c>:PerSecond</c>.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>
    /// The sliding log keeps one time per request admitted in the last minute in one string property, which
    /// Table Storage caps at 32K characters: 2,000 times of up to 14 characters fit with room to spare.
    /// </summary>
    public const int MaxPerMinute = 2_000;

    [Range(1, MaxPerMinute)]
    public int PerMinute { get; set; } = 100;

    [Range(1, MaxPerMinute)]
    public int PerSecond { get; set; } = 10;

    public Dictionary<string, RateLimitOverride> Workspaces { get; set; } = new(StringComparer.Ordinal);

    public (int PerMinute, int PerSecond) For(string workspaceId) =>
        Workspaces.TryGetValue(workspaceId, out var o) ? (o.PerMinute ?? PerMinute, o.PerSecond ?? PerSecond) : (PerMinute, PerSecond);
}

/// <summary>One workspace's own limits; what is unset keeps the default.</summary>
public sealed class RateLimitOverride
{
    [Range(1, RateLimitOptions.MaxPerMinute)]
    public int? PerMinute { get; set; }

    [Range(1, RateLimitOptions.MaxPerMinute)]
    public int? PerSecond { get; set; }
}
