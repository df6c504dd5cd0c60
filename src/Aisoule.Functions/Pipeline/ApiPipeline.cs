using System.Diagnostics;
using Aisoule.Core.Identity;
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
            if (gate.Recall(http, function) is { } recalled)
            {
                var ahead = await StartAheadAsync(http, function, recalled, invoke).ConfigureAwait(false);
                if (ahead.Admission.Refusal is { } refused)
                {
                    return ApiResult.Failure(refused);
                }

                workspaceScope = BeginWorkspaceScope(ahead.Admission.Caller!.WorkspaceId);
                if (ahead.Function is { } running)
                {
                    object? result;
                    try
                    {
                        result = await running.ConfigureAwait(false);
                    }
                    catch (Exception) when (ahead.Attempt.TriedToWrite)
                    {
                        result = null;
                    }
                    finally
                    {
                        AccessGate.Apply(http, ahead.Admission, setCaller: false);
                    }

                    if (!ahead.Attempt.TriedToWrite)
                    {
                        return Expect(result, function);
                    }

                    // Nothing was written: the write was refused before it left. Now admitted, the function runs again.
                    LogWroteAhead(logger, function.Name, requestId);
                }
            }
            else
            {
                if (await gate.AdmitAsync(http, function).ConfigureAwait(false) is { } refusal)
                {
                    return ApiResult.Failure(refusal);
                }

                workspaceScope = http.FindCaller() is { } caller ? BeginWorkspaceScope(caller.WorkspaceId) : null;
            }

            return Expect(await invoke().ConfigureAwait(false), function);
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

    /// <summary>
    /// Starts a read ahead of its admission: the admitting write (the gate's) and the function, read-only, at once. Returns
    /// when the gate has decided. A refusal, or a caller other than the one recalled, waits for the function to end and
    /// drops whatever it did or threw, unseen (then <see cref="Ahead.Function"/> is null: refused, or to run again as
    /// the caller admitted). Otherwise the function is still running, and its outcome is the request's.
    /// </summary>
    private async Task<Ahead> StartAheadAsync(HttpContext http, FunctionDescriptor function, Caller recalled, Func<Task<object?>> invoke)
    {
        http.SetCaller(recalled);

        // The gate reads what it needs from the request before its first await, so only then does the function start.
        var deciding = gate.DecideAsync(http, function);
        var attempt = new ReadOnlyStorage.Attempt();
        var running = ReadOnlyStorage.RunAsync(attempt, async () =>
        {
            // The function's own log lines carry the workspace too; a run for another caller is dropped anyway.
            using var scope = WorkspaceLogScope(recalled.WorkspaceId);
            return await invoke().ConfigureAwait(false);
        });
        Admission admission;
        try
        {
            admission = await deciding.ConfigureAwait(false);
        }
        catch
        {
            await Settle(running).ConfigureAwait(false);
            throw;
        }

        if (admission.Refusal is not null || !recalled.IsSameAs(admission.Caller!))
        {
            await Settle(running).ConfigureAwait(false);
            http.ClearCaller();
            AccessGate.Apply(http, admission, setCaller: true);
            return new Ahead(admission, null, attempt);
        }

        return new Ahead(admission, running, attempt);
    }

    // A result nobody may see: waited for (the function still holds the request) and dropped, exceptions included.
    private static async Task Settle(Task running) => await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

    private static IResult Expect(object? result, FunctionDescriptor function) =>
        result as IResult ?? throw new InvalidOperationException($"Function {function.Name} did not return an IResult.");

    private sealed record Ahead(Admission Admission, Task<object?>? Function, ReadOnlyStorage.Attempt Attempt);

    private IDisposable? BeginWorkspaceScope(string workspaceId)
    {
        Activity.Current?.SetTag(AisouleTelemetry.WorkspaceIdTag, workspaceId);
        return WorkspaceLogScope(workspaceId);
    }

    private IDisposable? WorkspaceLogScope(string workspaceId) => logger.BeginScope(new Dictionary<string, object> { ["WorkspaceId"] = workspaceId });

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

    [LoggerMessage(Level = LogLevel.Error, Message = "{Function} tried to write while reading ahead of its admission (request {RequestId}); nothing was written, and it ran again once admitted. A GET that writes must declare [Access(AwaitAdmission = true)]")]
    private static partial void LogWroteAhead(ILogger logger, string function, string requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client closed the request to {Function} ({RequestId})")]
    private static partial void LogAborted(ILogger logger, string function, string requestId);
}
