namespace Aisoule.Core.Results;

/// <summary>An expected failure, carried as a value and rendered once as the error envelope.</summary>
public sealed record ApiError(int Status, string Code, string Message)
{
    /// <summary>Per-field problems for validation failures, keyed by the snake_case field path.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    /// <summary>The id of the resource a conflict is about (<c>contact_exists</c> carries the existing contact's).</summary>
    public string? ExistingId { get; init; }

    /// <summary>Extra detail rendered as <c>data</c> beside the error (health's report).</summary>
    public object? Data { get; init; }

    /// <summary>Sent as <c>Retry-After</c> (whole seconds) when set.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static ApiError InvalidJson(string message) => new(400, ErrorCodes.InvalidJson, message);

    public static ApiError Validation(IReadOnlyDictionary<string, string[]> errors) =>
        new(400, ErrorCodes.ValidationFailed, "The request has invalid fields.") { Errors = errors };

    public static ApiError Validation(string field, string problem) =>
        Validation(new Dictionary<string, string[]> { [field] = [problem] });

    public static ApiError NotFound(string message = "Not found.") => new(404, ErrorCodes.NotFound, message);

    public static ApiError MethodNotAllowed(string method) =>
        new(405, ErrorCodes.MethodNotAllowed, $"Method {method} is not allowed on this endpoint.");

    public static ApiError PayloadTooLarge(long maxBytes) =>
        new(413, ErrorCodes.PayloadTooLarge, $"Request body is larger than {maxBytes / (1024 * 1024)} MB.");

    public static ApiError UnsupportedMediaType() =>
        new(415, ErrorCodes.UnsupportedMediaType, "Request body must be application/json (UTF-8).");

    public static ApiError Internal(string requestId) =>
        new(500, ErrorCodes.InternalError, $"Something went wrong on our side. Quote request id {requestId} if you contact support.");

    public static ApiError Unauthorized(string code, string message) => new(401, code, message);

    public static ApiError Forbidden(string code, string message) => new(403, code, message);

    public static ApiError Conflict(string code, string message) => new(409, code, message);

    /// <summary>Storage refused a value for its size or content; the request's field limits should have caught it.</summary>
    public static ApiError NotStorable() =>
        new(400, ErrorCodes.ValueNotStorable, "A value in this request is too large to store, or holds characters storage refuses; nothing of the refused write was saved. See the limits in the README.");

    public static ApiError StorageUnavailable() =>
        new(503, ErrorCodes.StorageUnavailable, "Storage is unreachable. Try again shortly.") { RetryAfter = TimeSpan.FromSeconds(5) };
}
