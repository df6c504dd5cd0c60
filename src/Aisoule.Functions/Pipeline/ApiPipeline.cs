using System.Diagnostics;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.Telemetry;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aisoule.Functions.Pipeline;

/// <summary>
/// The request pipeline both hosts run around every HTTP function: request id, the body size limit,
/// the auth gate (credentials, CSRF, scope), then the function, then errors mapped to the envelope (storage
/// unreachable → 503, a value storage refuses → 400, anything else → 500).
/// Every log line written meanwhile carries the request id, and the workspace id once the caller is known; the
/// request's span (the host's) carries them too.
/// The Functions worker calls it from <see cref="ApiPipelineMiddleware"/>, the local host from its endpoint.
/// </summary>
public sealed partial class ApiPipeline(AccessGate gate, ILogger<ApiPipeline> logger)
{
    public const long MaxBodyBytes = 5 * 1024 * 1024;

    /// <summary>Runs <paramref name="invoke"/> (the function) and returns the result to write.</summary>
    /// <param name="cancellationToken">The invocation's own token (the worker's differs from the request's).</param>
    public async Task<IResult> RunAsync(HttpContext http, FunctionDescriptor function, Func<Task<object?>> invoke, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(invoke);

        var requestId = RequestIds.Accept(http.Request.Headers[RequestIds.Header]);
        http.TraceIdentifier = requestId;
        http.Response.Headers[RequestIds.Header] = requestId;
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["RequestId"] = requestId, ["Function"] = function.Name });
        Activity.Current?.SetTag(AisouleTelemetry.RequestIdTag, requestId);

        // A body over the limit is refused before anything reads it; without a length, reading stops at the limit.
        if (http.Request.ContentLength > MaxBodyBytes)
        {
            return ApiResult.Failure(ApiError.PayloadTooLarge(MaxBodyBytes));
        }

        http.Request.Body = new BoundedReadStream(http.Request.Body, MaxBodyBytes);

        // Opened once the caller is known and closed after the error logs below, so they carry it too.
        IDisposable? workspaceScope = null;
        try
        {
            if (await gate.AdmitAsync(http, function).ConfigureAwait(false) is { } refusal)
            {
                return ApiResult.Failure(refusal);
            }

            workspaceScope = http.FindCaller() is { } caller ? BeginWorkspaceScope(caller.WorkspaceId) : null;
            return await invoke().ConfigureAwait(false) as IResult
                ?? throw new InvalidOperationException($"Function {function.Name} did not return an IResult.");
        }
        catch (Exception ex) when (IsBodyTooLarge(ex))
        {
            return ApiResult.Failure(ApiError.PayloadTooLarge(MaxBodyBytes));
        }
        catch (Exception ex) when (BadRequestStatus(ex) is { } status)
        {
            // Kestrel found the body malformed while the function read it (bad chunked framing, a body cut short).
            return ApiResult.Failure(new ApiError(ErrorCodes.BadRequest, "The request's body could not be read: its HTTP framing is malformed or it ended early."), status);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            LogAborted(logger, function.Name, requestId);
            return ApiResult.Failure(new ApiError(ErrorCodes.ClientClosedRequest, "The client closed the request."));
        }
        catch (Exception ex) when (StorageFailures.IsUnavailable(ex))
        {
            LogStorageUnavailable(logger, ex, function.Name, requestId);
            return ApiResult.Failure(ApiError.StorageUnavailable());
        }
        catch (Exception ex) when (StorageFailures.IsValueRefused(ex))
        {
            // The last line of defence: field limits measured as stored should have refused this request first.
            LogValueRefused(logger, ex, function.Name, requestId);
            return ApiResult.Failure(ApiError.NotStorable());
        }
        catch (Exception ex)
        {
            LogUnhandled(logger, ex, function.Name, requestId);
            return ApiResult.Failure(ApiError.Internal(requestId));
        }
        finally
        {
            workspaceScope?.Dispose();
        }
    }

    private IDisposable? BeginWorkspaceScope(string workspaceId)
    {
        Activity.Current?.SetTag(AisouleTelemetry.WorkspaceIdTag, workspaceId);
        return logger.BeginScope(new Dictionary<string, object> { ["WorkspaceId"] = workspaceId });
    }

    // Kestrel reports its own body limit as a BadHttpRequestException with status 413.
    private static bool IsBodyTooLarge(Exception exception) =>
        exception is RequestBodyTooLargeException or BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }
        || (exception.InnerException is { } inner && IsBodyTooLarge(inner));

    private static int? BadRequestStatus(Exception exception) =>
        exception is BadHttpRequestException { StatusCode: >= 400 and < 500 } bad ? bad.StatusCode
        : exception.InnerException is { } inner ? BadRequestStatus(inner)
        : null;

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error in {Function} for request {RequestId}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string function, string requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage unreachable in {Function} for request {RequestId}")]
    private static partial void LogStorageUnavailable(ILogger logger, Exception exception, string function, string requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage refused a value in {Function} for request {RequestId}: a field limit is missing")]
    private static partial void LogValueRefused(ILogger logger, Exception exception, string function, string requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client closed the request to {Function} ({RequestId})")]
    private static partial void LogAborted(ILogger logger, string function, string requestId);
}
