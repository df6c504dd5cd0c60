namespace Aisoule.Core.Results;

/// <summary>The stable, documented <c>code</c> values of the error envelope.</summary>
public static class ErrorCodes
{
    public const string InvalidJson = "invalid_json";
    public const string ValidationFailed = "validation_failed";
    public const string NotFound = "not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string InternalError = "internal_error";
    public const string StorageUnavailable = "storage_unavailable";
}
