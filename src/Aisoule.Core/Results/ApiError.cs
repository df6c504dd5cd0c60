namespace Aisoule.Core.Results;

/// <summary>
/// An expected failure, carried as a value: a domain refusal named by its <see cref="ErrorCodes">code</see>, with its
/// message and details. It carries no HTTP status: the edge decides that from the code, and renders the envelope once.
/// </summary>
public sealed record ApiError(string Code, string Message)
{
    /// <summary>Per-field problems for validation failures, keyed by the snake_case field path.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    /// <summary>The id of the resource a conflict is about (<c>contact_exists</c> carries the existing contact's).</summary>
    public string? ExistingId { get; init; }

    /// <summary>Extra detail rendered as <c>data</c> beside the error (health's report).</summary>
    public object? Data { get; init; }

    /// <summary>Sent as <c>Retry-After</c> (whole seconds) when set.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Whether this is the refusal named by <paramref name="code"/> (one of <see cref="ErrorCodes"/>).</summary>
    public bool Is(string code) => string.Equals(Code, code, StringComparison.Ordinal);

    public static ApiError InvalidJson(string message) => new(ErrorCodes.InvalidJson, message);

    public static ApiError Validation(IReadOnlyDictionary<string, string[]> errors) =>
        new(ErrorCodes.ValidationFailed, "The request has invalid fields.") { Errors = errors };

    public static ApiError Validation(string field, string problem) =>
        Validation(new Dictionary<string, string[]> { [field] = [problem] });

    /// <summary>A phone number that is not one (E.164 or national with a leading +), named by its field.</summary>
    public static ApiError InvalidPhoneNumber(string field) =>
        new(ErrorCodes.InvalidPhoneNumber, "Invalid phone number") { Errors = new Dictionary<string, string[]> { [field] = ["Invalid phone number"] } };

    public static ApiError NotFound(string message = "Not found.") => new(ErrorCodes.NotFound, message);

    public static ApiError MethodNotAllowed(string method) =>
        new(ErrorCodes.MethodNotAllowed, $"Method {method} is not allowed on this endpoint.");

    public static ApiError PayloadTooLarge(long maxBytes) =>
        new(ErrorCodes.PayloadTooLarge, $"Request body is larger than {maxBytes / (1024 * 1024)} MB.");

    public static ApiError UnsupportedMediaType() =>
        new(ErrorCodes.UnsupportedMediaType, "Request body must be application/json (UTF-8).");

    public static ApiError Internal(string requestId) =>
        new(ErrorCodes.InternalError, $"Something went wrong on our side. Quote request id {requestId} if you contact support.");

    /// <summary>Storage refused a value for its size or content; the request's field limits should have caught it.</summary>
    public static ApiError NotStorable() =>
        new(ErrorCodes.ValueNotStorable, "A value in this request is too large to store, or holds characters storage refuses; nothing of the refused write was saved. See the limits in the README.");

    public static ApiError StorageUnavailable() =>
        new(ErrorCodes.StorageUnavailable, "Storage is unreachable. Try again shortly.") { RetryAfter = TimeSpan.FromSeconds(5) };
}
