using Azure;

namespace Aisoule.Core.RateLimiting;

/// <summary>Table <c>ratelimits</c>: one session user's sliding log (partition = user id).</summary>
public sealed class RateLimitEntity : IRateLogged
{
    public const string Row = "limit";

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = Row;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string RateLog { get; set; } = "";
}
