using Aisoule.Core.Results;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Routing;

/// <summary>Answers every path no other function serves: 404, or 405 with <c>Allow</c> when only the method is wrong.</summary>
public sealed class FallbackFunctions(FunctionCatalog catalog)
{
    /// <summary>
    /// The Functions host tries HTTP routes in order of function name, not by specificity, so the catch-all's
    /// name must sort after every other function's (a test checks it).
    /// </summary>
    public const string Name = "zzz_fallback";

    [Function(Name)]
    [Access(Credentials.None)]
    public ApiResult Fallback(
        [HttpTrigger(AuthorizationLevel.Anonymous, Route = "{*path}")] HttpRequest request,
        string? path)
    {
        ArgumentNullException.ThrowIfNull(request);
        var allowed = catalog.MethodsAt("/" + path);
        return allowed.Count == 0
            ? ApiResult.Failure(ApiError.NotFound($"No endpoint at {request.Method} {request.Path}."))
            : ApiResult.Failure(ApiError.MethodNotAllowed(request.Method)).WithHeader("Allow", string.Join(", ", allowed));
    }
}
