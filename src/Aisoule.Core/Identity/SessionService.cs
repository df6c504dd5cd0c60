using System.Collections.Concurrent;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Identity;

/// <summary>Server-side login sessions: only token hashes are stored; idle and absolute expiry; logout deletes.</summary>
public sealed class SessionService(StorageAccount storage, IOptions<IdentityOptions> options, TimeProvider clock)
{
    // last_seen_at is written at most this often, so a busy session does not cost a write per request.
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private const int SeenLimit = 10_000;

    // Each session as this instance last found it, by token hash; see Recall.
    private readonly ConcurrentDictionary<string, SessionEntity> _seen = new(StringComparer.Ordinal);

    public async Task<(string Token, string CsrfToken, DateTimeOffset ExpiresAt)> StartAsync(UserEntity user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        var (token, csrf, now) = (Secrets.NewToken(), Secrets.NewToken(), clock.GetUtcNow());
        var session = new SessionEntity
        {
            PartitionKey = Secrets.Hash(token),
            WorkspaceId = user.PartitionKey,
            UserId = user.UserId,
            Role = user.Role,
            CsrfHash = Secrets.Hash(csrf),
            CreatedAt = now,
            LastSeenAt = now,
            ExpiresAt = now + options.Value.SessionLifetime,
        };
        var table = await storage.GetTableAsync(IdentityTables.Sessions, cancellationToken).ConfigureAwait(false);
        await table.AddEntityAsync(session, cancellationToken).ConfigureAwait(false);
        return (token, csrf, session.ExpiresAt);
    }

    /// <summary>
    /// The caller behind a session cookie as this instance last found it, without asking storage; null when it has
    /// not seen the session, or it has ended by now. A guess to start work with: only <see cref="AuthenticateAsync"/>
    /// says the session is still there.
    /// </summary>
    public Caller? Recall(string token)
    {
        var hash = IsWellFormed(token) ? Secrets.Hash(token) : null;
        if (hash is null || !_seen.TryGetValue(hash, out var session))
        {
            return null;
        }

        if (Ended(session, clock.GetUtcNow()))
        {
            _seen.TryRemove(hash, out _);
            return null;
        }

        return CallerOf(session);
    }

    /// <summary>The caller behind a session cookie, and the hash its CSRF token must match.</summary>
    public async Task<Outcome<(Caller Caller, string CsrfHash)>> AuthenticateAsync(string token, CancellationToken cancellationToken = default)
    {
        var expired = new ApiError(ErrorCodes.SessionExpired, "Your session has ended. Log in again.");
        if (!IsWellFormed(token))
        {
            return expired;
        }

        var hash = Secrets.Hash(token);
        var table = await storage.GetTableAsync(IdentityTables.Sessions, cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<SessionEntity>(hash, SessionEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!found.HasValue)
        {
            _seen.TryRemove(hash, out _);
            return expired;
        }

        var session = found.Value!;
        var now = clock.GetUtcNow();
        if (Ended(session, now))
        {
            _seen.TryRemove(hash, out _);
            await table.DeleteEntityAsync(session.PartitionKey, session.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            return expired;
        }

        if (now - session.LastSeenAt >= TouchInterval)
        {
            session.LastSeenAt = now;
            try
            {
                await table.UpdateEntityAsync(session, session.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                // Another request touched it first, or it was just logged out; either way nothing to do here.
            }
        }

        Keep(hash, session, now);
        return (CallerOf(session), session.CsrfHash);
    }

    public async Task EndAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        _seen.TryRemove(sessionId, out _);
        var table = await storage.GetTableAsync(IdentityTables.Sessions, cancellationToken).ConfigureAwait(false);
        await table.DeleteEntityAsync(sessionId, SessionEntity.Row, ETag.All, cancellationToken).ConfigureAwait(false);
    }

    private static readonly System.Buffers.SearchValues<char> TokenCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

    // Sessions that end without a logout here are never asked about again: when the cache is full, the ended ones go,
    // and if that frees nothing, all of them (each is read again on its next request).
    private void Keep(string hash, SessionEntity session, DateTimeOffset now)
    {
        if (_seen.Count >= SeenLimit && !_seen.ContainsKey(hash))
        {
            foreach (var (key, seen) in _seen)
            {
                if (Ended(seen, now))
                {
                    _seen.TryRemove(key, out _);
                }
            }

            if (_seen.Count >= SeenLimit)
            {
                _seen.Clear();
            }
        }

        _seen[hash] = session;
    }

    private static bool IsWellFormed(string token) =>
        !string.IsNullOrEmpty(token) && token.Length <= 64 && !token.AsSpan().ContainsAnyExcept(TokenCharacters);

    private static Caller CallerOf(SessionEntity session) =>
        new(session.WorkspaceId, session.UserId, session.Role, Roles.ScopesOf(session.Role)) { SessionId = session.PartitionKey };

    private bool Ended(SessionEntity session, DateTimeOffset now) =>
        now >= session.ExpiresAt || now - session.LastSeenAt >= options.Value.SessionIdleTimeout;
}
