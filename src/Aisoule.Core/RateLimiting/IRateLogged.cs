using Azure.Data.Tables;

namespace Aisoule.Core.RateLimiting;

/// <summary>A table row that carries a sliding log of admitted requests.</summary>
public interface IRateLogged : ITableEntity
{
    /// <summary>Unix milliseconds of the requests admitted in the last minute, space-separated.</summary>
    string RateLog { get; set; }
}
