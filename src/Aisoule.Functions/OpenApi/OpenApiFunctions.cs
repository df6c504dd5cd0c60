using System.Collections.Frozen;
using System.Text;
using Aisoule.Core.Results;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.OpenApi;

/// <summary>
/// <c>GET /api/openapi.json</c>: the OpenAPI 3.1 document of this API; <c>GET /api/docs</c>: a reference rendered from
/// it in the browser by a page and script the app serves itself (no CDN). No credentials needed.
/// </summary>
public sealed class OpenApiFunctions
{
    /// <summary>Only the page's own files; its script reads the document from this origin.</summary>
    private const string ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, (byte[] Bytes, string ContentType)> Assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal)
    {
        ["index.html"] = (Read("index.html"), "text/html"),
        ["docs.js"] = (Read("docs.js"), "text/javascript"),
        ["docs.css"] = (Read("docs.css"), "text/css"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    [Function(nameof(GetOpenApiDocument))]
    [Access(Credentials.None)]
    public IResult GetOpenApiDocument(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.HttpContext.Response.Headers.CacheControl = "public, max-age=300";
        return Results.Text(OpenApiDocument.Json, "application/json", Encoding.UTF8);
    }

    [Function(nameof(GetApiReference))]
    [Access(Credentials.None)]
    public IResult GetApiReference(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "docs")] HttpRequest request) => Asset(request, "index.html");

    [Function(nameof(GetApiReferenceAsset))]
    [Access(Credentials.None)]
    public IResult GetApiReferenceAsset(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "docs/{file}")] HttpRequest request,
        string file) => file is "docs.js" or "docs.css"
            ? Asset(request, file)
            : ApiResult.Failure(ApiError.NotFound("No such file of the API reference."));

    private static IResult Asset(HttpRequest request, string name)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (bytes, contentType) = Assets[name];
        var headers = request.HttpContext.Response.Headers;
        headers.CacheControl = "public, max-age=300";
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        return Results.Bytes(bytes, contentType + "; charset=utf-8");
    }

    private static byte[] Read(string file)
    {
        using var stream = typeof(OpenApiFunctions).Assembly.GetManifestResourceStream("Aisoule.OpenApi.docs." + file)
            ?? throw new InvalidOperationException($"The API reference's {file} is not embedded.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
