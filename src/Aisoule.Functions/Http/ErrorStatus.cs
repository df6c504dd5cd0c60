using System.Collections.Frozen;
using Aisoule.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Http;

/// <summary>
/// The HTTP status of every error code: the one table, read when the envelope is rendered. Core names refusals by
/// code; only the edge knows HTTP. The README's error table is checked against this table by a test.
/// </summary>
public static class ErrorStatus
{
    /// <summary>Not an HTTP standard status: nginx's for a client that left before its answer (only in logs).</summary>
    public const int ClientClosedRequest = 499;

    private static readonly FrozenDictionary<string, int> Table = new Dictionary<string, int>
    {
        [ErrorCodes.BadRequest] = StatusCodes.Status400BadRequest,
        [ErrorCodes.InvalidJson] = StatusCodes.Status400BadRequest,
        [ErrorCodes.ValidationFailed] = StatusCodes.Status400BadRequest,
        [ErrorCodes.InvalidPhoneNumber] = StatusCodes.Status400BadRequest,
        [ErrorCodes.ValueNotStorable] = StatusCodes.Status400BadRequest,
        [ErrorCodes.NotFound] = StatusCodes.Status404NotFound,
        [ErrorCodes.MethodNotAllowed] = StatusCodes.Status405MethodNotAllowed,
        [ErrorCodes.PayloadTooLarge] = StatusCodes.Status413PayloadTooLarge,
        [ErrorCodes.UnsupportedMediaType] = StatusCodes.Status415UnsupportedMediaType,
        [ErrorCodes.ClientClosedRequest] = ClientClosedRequest,

        [ErrorCodes.Unauthenticated] = StatusCodes.Status401Unauthorized,
        [ErrorCodes.InvalidCredentials] = StatusCodes.Status401Unauthorized,
        [ErrorCodes.InvalidApiKey] = StatusCodes.Status401Unauthorized,
        [ErrorCodes.KeyExpired] = StatusCodes.Status401Unauthorized,
        [ErrorCodes.KeyRevoked] = StatusCodes.Status401Unauthorized,
        [ErrorCodes.SessionExpired] = StatusCodes.Status401Unauthorized,
        [ErrorCodes.InvalidSignature] = StatusCodes.Status401Unauthorized,
        [ErrorCodes.SessionRequired] = StatusCodes.Status403Forbidden,
        [ErrorCodes.CsrfFailed] = StatusCodes.Status403Forbidden,
        [ErrorCodes.InsufficientScope] = StatusCodes.Status403Forbidden,
        [ErrorCodes.Forbidden] = StatusCodes.Status403Forbidden,
        [ErrorCodes.SignupDisabled] = StatusCodes.Status403Forbidden,
        [ErrorCodes.VerificationFailed] = StatusCodes.Status403Forbidden,

        [ErrorCodes.EmailTaken] = StatusCodes.Status409Conflict,
        [ErrorCodes.ContactExists] = StatusCodes.Status409Conflict,
        [ErrorCodes.AccountExists] = StatusCodes.Status409Conflict,
        [ErrorCodes.IdempotencyKeyReused] = StatusCodes.Status409Conflict,
        [ErrorCodes.Conflict] = StatusCodes.Status409Conflict,
        [ErrorCodes.CampaignBusy] = StatusCodes.Status409Conflict,
        [ErrorCodes.InvalidCampaignState] = StatusCodes.Status409Conflict,

        [ErrorCodes.NoDefaultAccount] = StatusCodes.Status422UnprocessableEntity,
        [ErrorCodes.AccountDisconnected] = StatusCodes.Status422UnprocessableEntity,
        [ErrorCodes.AccountCheckFailed] = StatusCodes.Status422UnprocessableEntity,
        [ErrorCodes.TemplateNotApproved] = StatusCodes.Status422UnprocessableEntity,
        [ErrorCodes.TemplateParametersMismatch] = StatusCodes.Status422UnprocessableEntity,
        [ErrorCodes.ContactNotFound] = StatusCodes.Status422UnprocessableEntity,
        [ErrorCodes.RecipientNeedsPhone] = StatusCodes.Status422UnprocessableEntity,
        [ErrorCodes.ContactOptedOut] = StatusCodes.Status422UnprocessableEntity,
        [ErrorCodes.OutsideServiceWindow] = StatusCodes.Status422UnprocessableEntity,

        [ErrorCodes.TooManyAttempts] = StatusCodes.Status429TooManyRequests,
        [ErrorCodes.RateLimited] = StatusCodes.Status429TooManyRequests,
        [ErrorCodes.InternalError] = StatusCodes.Status500InternalServerError,
        [ErrorCodes.ProviderError] = StatusCodes.Status502BadGateway,
        [ErrorCodes.StorageUnavailable] = StatusCodes.Status503ServiceUnavailable,
        [ErrorCodes.Busy] = StatusCodes.Status503ServiceUnavailable,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The status of <paramref name="code"/>; a code missing from the table is a bug (a test checks none is).</summary>
    public static int Of(string code) =>
        Table.TryGetValue(code, out var status) ? status : throw new InvalidOperationException($"Error code '{code}' has no HTTP status in ErrorStatus.");

    /// <summary>Every code with its status, for the README check.</summary>
    public static IReadOnlyDictionary<string, int> All => Table;
}
