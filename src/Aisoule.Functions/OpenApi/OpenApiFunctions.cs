using System.Text;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.OpenApi;

/// <summary><c>GET /api/openapi.json</c>: the OpenAPI 3.1 document of this API. No credentials needed.</summary>
public sealed class OpenApiFunctions
{
    [Function(nameof(GetOpenApiDocument))]
    [Access(Credentials.None)]
    public IResult GetOpenApiDocument(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.HttpContext.Response.Headers.CacheControl = "public, max-age=300";
        return Results.Text(OpenApiDocument.Json, "application/json", Encoding.UTF8);
    }
}
