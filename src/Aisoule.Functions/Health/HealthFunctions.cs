using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Health;

/// <summary><c>GET /api/health</c>: is the app up, and does storage answer. No credentials needed.</summary>
public sealed class HealthFunctions(StorageHealth health)
{
    [Function(nameof(GetHealth))]
    [Access(Credentials.None)]
    public async Task<ApiResult> GetHealth(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var report = await health.CheckAsync(cancellationToken).ConfigureAwait(false);
        return report.IsHealthy
            ? ApiResult.Ok(report)
            : ApiResult.Failure(ApiError.StorageUnavailable() with { Data = report });
    }
}
