namespace Aisoule.Core.Results;

/// <summary>The stable, documented <c>code</c> values of the error envelope.</summary>
public static class ErrorCodes
{
    public const string BadRequest = "bad_request";
    public const string InvalidJson = "invalid_json";
    public const string ValidationFailed = "validation_failed";
    public const string NotFound = "not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string InternalError = "internal_error";
    public const string StorageUnavailable = "storage_unavailable";
    public const string ValueNotStorable = "value_not_storable";
    public const string Unauthenticated = "unauthenticated";
    public const string InvalidCredentials = "invalid_credentials";
    public const string InvalidApiKey = "invalid_api_key";
    public const string KeyExpired = "key_expired";
    public const string KeyRevoked = "key_revoked";
    public const string SessionExpired = "session_expired";
    public const string SessionRequired = "session_required";
    public const string CsrfFailed = "csrf_failed";
    public const string InsufficientScope = "insufficient_scope";
    public const string Forbidden = "forbidden";
    public const string EmailTaken = "email_taken";
    public const string SignupDisabled = "signup_disabled";
    public const string TooManyAttempts = "too_many_attempts";
    public const string RateLimited = "rate_limited";
}
