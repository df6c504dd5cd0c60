namespace Aisoule.Core.Results;

/// <summary>
/// The stable, documented <c>code</c> values of the error envelope: the one catalog, nowhere else written as text.
/// The HTTP status of each is decided at the edge (<c>Aisoule.Functions.Http.ErrorStatus</c>); the README's error
/// table lists them all (checked by a test).
/// </summary>
public static class ErrorCodes
{
    // The request itself.
    public const string BadRequest = "bad_request";
    public const string InvalidJson = "invalid_json";
    public const string ValidationFailed = "validation_failed";
    public const string InvalidPhoneNumber = "invalid_phone_number";
    public const string ValueNotStorable = "value_not_storable";
    public const string NotFound = "not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string ClientClosedRequest = "client_closed_request";

    // Credentials and permissions.
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
    public const string SignupDisabled = "signup_disabled";
    public const string InvalidSignature = "invalid_signature";
    public const string VerificationFailed = "verification_failed";

    // Conflicts with what is stored.
    public const string EmailTaken = "email_taken";
    public const string ContactExists = "contact_exists";
    public const string AccountExists = "account_exists";
    public const string IdempotencyKeyReused = "idempotency_key_reused";
    public const string Conflict = "conflict";
    public const string CampaignBusy = "campaign_busy";
    public const string InvalidCampaignState = "invalid_campaign_state";

    // Well-formed, but the rules say no.
    public const string NoDefaultAccount = "no_default_account";
    public const string AccountDisconnected = "account_disconnected";
    public const string AccountCheckFailed = "account_check_failed";
    public const string TemplateNotApproved = "template_not_approved";
    public const string TemplateParametersMismatch = "template_parameters_mismatch";
    public const string ContactNotFound = "contact_not_found";
    public const string RecipientNeedsPhone = "recipient_needs_phone";
    public const string ContactOptedOut = "contact_opted_out";
    public const string OutsideServiceWindow = "outside_service_window";

    // Limits and failures.
    public const string TooManyAttempts = "too_many_attempts";
    public const string RateLimited = "rate_limited";
    public const string InternalError = "internal_error";
    public const string ProviderError = "provider_error";
    public const string StorageUnavailable = "storage_unavailable";
    public const string Busy = "busy";

    /// <summary>Every code above, for the edge's status table and the README check.</summary>
    public static IReadOnlyList<string> All { get; } =
        [.. typeof(ErrorCodes).GetFields().Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!)];
}
