using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Aisoule.Core.Json;
using Aisoule.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Http;

/// <summary>
/// Every HTTP answer: the success envelope <c>{data, status:"success"}</c> or the error envelope
/// <c>{message, status:"error", code, errors?}</c>. The one place outcomes become bytes on the wire.
/// </summary>
public sealed class ApiResult : IResult, IStatusCodeHttpResult
{
    private readonly Dictionary<string, string> _headers = new(StringComparer.OrdinalIgnoreCase);

    private ApiResult(int statusCode, object? data, ApiError? error)
    {
        StatusCode = statusCode;
        Data = data;
        Error = error;
    }

    public int StatusCode { get; }

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public object? Data { get; }

    public ApiError? Error { get; }

    public static ApiResult Ok(object data) => new(StatusCodes.Status200OK, data, null);

    public static ApiResult Created(object data) => new(StatusCodes.Status201Created, data, null);

    public static ApiResult Accepted(object data) => new(StatusCodes.Status202Accepted, data, null);

    /// <summary>The error envelope, with the status <see cref="ErrorStatus"/> gives the error's code.</summary>
    public static ApiResult Failure(ApiError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new(ErrorStatus.Of(error.Code), null, error);
    }

    /// <summary>
    /// The error envelope with a status decided elsewhere: only for <c>bad_request</c> carrying Kestrel's own status
    /// for a request it could not read (408, 414, 431, ...).
    /// </summary>
    internal static ApiResult Failure(ApiError error, int status)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new(status, null, error);
    }

    public ApiResult WithHeader(string name, string value)
    {
        _headers[name] = value;
        return this;
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = StatusCode;
        response.ContentType = "application/json; charset=utf-8";
        foreach (var (name, value) in _headers)
        {
            response.Headers[name] = value;
        }

        if (Error?.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        object envelope = Error is null
            ? new SuccessEnvelope(Data)
            : new ErrorEnvelope(Error.Message, Error.Code, Error.Errors, Error.ExistingId, Error.Data);
        await JsonSerializer.SerializeAsync(response.Body, envelope, envelope.GetType(), AisouleJson.Options, httpContext.RequestAborted).ConfigureAwait(false);
    }

    private sealed record SuccessEnvelope(object? Data, string Status = "success");

    private sealed record ErrorEnvelope(
        string Message,
        string Code,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string[]>? Errors,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? Data,
        string Status = "error");
}
