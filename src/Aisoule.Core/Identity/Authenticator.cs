using Aisoule.Core.RateLimiting;
using Aisoule.Core.Results;
using Aisoule.Core.Telemetry;

namespace Aisoule.Core.Identity;

/// <summary>The credentials a request presented, after checking: who it is, and how it proved it.</summary>
public sealed record Authenticated(Caller Caller, string? CsrfHash, RateDecision Rate);

/// <summary>
/// Turns the two ways in (an <c>X-API-Key</c>, or the session cookie) into a <see cref="Caller"/>, admitted
/// against the key's or the user's rate limit.
/// </summary>
public sealed class Authenticator(ApiKeyService keys, SessionService sessions, RateLimiter limiter)
{
    public async Task<Outcome<Authenticated>> AuthenticateAsync(string? apiKey, string? sessionToken, CancellationToken cancellationToken = default)
    {
        // A key, when sent, decides alone: a request is never half key, half cookie.
        if (!string.IsNullOrEmpty(apiKey))
        {
            var byKey = await keys.AuthenticateAsync(apiKey, cancellationToken).ConfigureAwait(false);
            return byKey.Succeeded ? Counted(new Authenticated(byKey.Value.Caller, null, byKey.Value.Rate)) : byKey.Error!;
        }

        if (!string.IsNullOrEmpty(sessionToken))
        {
            var bySession = await sessions.AuthenticateAsync(sessionToken, cancellationToken).ConfigureAwait(false);
            if (!bySession.Succeeded)
            {
                return bySession.Error!;
            }

            var (caller, csrfHash) = bySession.Value;
            var rate = await limiter.AdmitUserAsync(caller.WorkspaceId, caller.UserId, cancellationToken).ConfigureAwait(false);
            return Counted(new Authenticated(caller, csrfHash, rate));
        }

        return new ApiError(ErrorCodes.Unauthenticated, "Authentication required: send an X-API-Key header or log in.");
    }

    /// <summary>
    /// Who these credentials were when this instance last checked them, without asking storage (null if it does not
    /// know, knows they no longer work, or saw them at their rate limit). Work may start on that guess; only
    /// <see cref="AuthenticateAsync"/> admits.
    /// </summary>
    public Caller? Recall(string? apiKey, string? sessionToken)
    {
        if (!string.IsNullOrEmpty(apiKey))
        {
            return keys.Recall(apiKey);
        }

        return !string.IsNullOrEmpty(sessionToken) && sessions.Recall(sessionToken) is { } caller && limiter.WouldAdmitUser(caller.WorkspaceId, caller.UserId)
            ? caller
            : null;
    }

    /// <summary>A caller over its limit is counted under the kind of limit (a key's or a user's), never the key.</summary>
    private static Authenticated Counted(Authenticated authenticated)
    {
        if (!authenticated.Rate.Admitted)
        {
            AisouleTelemetry.RateLimitRefused(authenticated.Caller.ViaKey ? AisouleTelemetry.Limits.ApiKey : AisouleTelemetry.Limits.User, authenticated.Caller.WorkspaceId);
        }

        return authenticated;
    }
}
