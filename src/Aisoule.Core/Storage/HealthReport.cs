using System.Text.Json.Serialization;

namespace Aisoule.Core.Storage;

/// <summary>What <c>GET /health</c> answers: overall status and whether storage answered.</summary>
public sealed record HealthReport(string Status, string Storage)
{
    [JsonIgnore]
    public bool IsHealthy => Status == "ok";
}
