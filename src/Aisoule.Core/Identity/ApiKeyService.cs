using System.Collections.Concurrent;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.RateLimiting;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity;

/// <summary>
/// API keys: created from a session, listed and revoked within the caller's workspace, and checked on every
/// request. No cached state can outlive a revocation: every request ends in a write conditional on the key row's
/// ETag (the rate limiter's), which a revocation changes.
/// </summary>
public sealed class ApiKeyService(StorageAccount storage, RateLimiter limiter, TimeProvider clock)
{
    private const int PointerCacheLimit = 10_000;
    private readonly ConcurrentDictionary<string, (string WorkspaceId, string KeyId)> _pointers = new(StringComparer.Ordinal);

    // Each key's row as this instance last wrote it (with its ETag); see AuthenticateAsync.
    private readonly ConcurrentDictionary<string, ApiKeyEntity> _rows = new(StringComparer.Ordinal);

    public async Task<Outcome<CreatedKey>> CreateAsync(Caller caller, string name, DateTimeOffset? expiresAt, IReadOnlyList<string>? scopes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var now = clock.GetUtcNow();
        expiresAt = expiresAt is { } e ? TruncateToSecond(e) : null;
        if (expiresAt is { } expiry && expiry <= now)
        {
            return ApiError.Validation("expires_at", "Must be in the future.");
        }

        if (scopes?.FirstOrDefault(s => !Scopes.IsKnown(s)) is { } unknown)
        {
            return ApiError.Validation("scopes", $"Unknown scope '{unknown}'. Known scopes: {string.Join(", ", Scopes.All)}.");
        }

        if (scopes?.FirstOrDefault(s => !caller.Has(s)) is { } beyond)
        {
            return new ApiError(ErrorCodes.InsufficientScope, $"You cannot grant the '{beyond}' scope: your role does not have it.");
        }

        var key = ApiKeyFormat.Generate();
        var hash = Secrets.Hash(key);
        var entity = new ApiKeyEntity
        {
            PartitionKey = caller.WorkspaceId,
            RowKey = Secrets.NewId("key_"),
            Name = name,
            DisplayPrefix = ApiKeyFormat.DisplayPrefix(key),
            KeyHash = hash,
            UserId = caller.UserId,
            Role = caller.Role,
            Scopes = string.Join(' ', (scopes ?? caller.Scopes).Distinct().Order(StringComparer.Ordinal)),
            CreatedAt = now,
            ExpiresAt = expiresAt,
        };

        // The pointer first: a crash between the two writes leaves a pointer to nothing, which authenticates nobody.
        var pointers = await storage.GetTableAsync(IdentityTables.ApiKeyHashes, cancellationToken).ConfigureAwait(false);
        await pointers.AddEntityAsync(new ApiKeyHashEntity { PartitionKey = hash, WorkspaceId = caller.WorkspaceId, KeyId = entity.RowKey }, cancellationToken).ConfigureAwait(false);
        var keys = await storage.GetTableAsync(IdentityTables.ApiKeys, cancellationToken).ConfigureAwait(false);
        await keys.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        return new CreatedKey(KeyView.From(entity, now), key);
    }

    public async Task<IReadOnlyList<KeyView>> ListAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var keys = await storage.GetTableAsync(IdentityTables.ApiKeys, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var list = new List<KeyView>();
        await foreach (var key in keys.QueryAsync<ApiKeyEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {caller.WorkspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (CanManage(caller, key))
            {
                list.Add(KeyView.From(key, now));
            }
        }

        return [.. list.OrderByDescending(k => k.CreatedAt)];
    }

    public async Task<Outcome<KeyView>> RevokeAsync(Caller caller, string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var notFound = ApiError.NotFound("No API key with this id.");
        if (!Secrets.IsId(keyId, "key_"))
        {
            return notFound;
        }

        var keys = await storage.GetTableAsync(IdentityTables.ApiKeys, cancellationToken).ConfigureAwait(false);
        // Usage is written at the same moment by the key's own requests: on a conflict read again and revoke that.
        return await OptimisticRetry.RunAsync<Outcome<KeyView>>(async _ =>
        {
            var found = await keys.GetEntityIfExistsAsync<ApiKeyEntity>(caller.WorkspaceId, keyId, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!found.HasValue || !CanManage(caller, found.Value!))
            {
                return notFound;
            }

            var key = found.Value!;
            if (key.RevokedAt is not null)
            {
                return KeyView.From(key, clock.GetUtcNow());
            }

            key.RevokedAt = clock.GetUtcNow();
            await keys.UpdateEntityAsync(key, key.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            return KeyView.From(key, key.RevokedAt.Value);
        }, gaveUp: () => new ApiError(ErrorCodes.StorageUnavailable, "The key is busy; try revoking it again.") { RetryAfter = TimeSpan.FromSeconds(1) }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The caller this key was as this instance last wrote its row, without asking storage; null when the instance
    /// has not seen the key, or saw it revoked, expired or at its rate limit. A guess to start work with, never an
    /// admission: only <see cref="AuthenticateAsync"/> admits.
    /// </summary>
    public Caller? Recall(string key)
    {
        if (!ApiKeyFormat.IsWellFormed(key) || !_rows.TryGetValue(Secrets.Hash(key), out var row))
        {
            return null;
        }

        return row.RevokedAt is null && !(row.ExpiresAt <= clock.GetUtcNow()) && limiter.WouldAdmit(row.PartitionKey, row) ? CallerOf(row) : null;
    }

    /// <summary>
    /// Checks a key and admits the request against its rate limit in one go: the key's row carries its sliding
    /// log and usage, so the write that admits also records <c>last_used_at</c> and <c>request_count</c>, and —
    /// because it is conditional on the row's ETag — proves the key was not revoked since it was last read.
    /// </summary>
    public async Task<Outcome<(Caller Caller, RateDecision Rate)>> AuthenticateAsync(string key, CancellationToken cancellationToken = default)
    {
        var invalid = new ApiError(ErrorCodes.InvalidApiKey, "The API key is not valid.");
        if (!ApiKeyFormat.IsWellFormed(key))
        {
            return invalid;
        }

        var hash = Secrets.Hash(key);
        if (!_pointers.TryGetValue(hash, out var pointer))
        {
            var pointers = await storage.GetTableAsync(IdentityTables.ApiKeyHashes, cancellationToken).ConfigureAwait(false);
            var found = await pointers.GetEntityIfExistsAsync<ApiKeyHashEntity>(hash, ApiKeyHashEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!found.HasValue)
            {
                return invalid;
            }

            pointer = (found.Value!.WorkspaceId, found.Value.KeyId);
            if (_pointers.Count < PointerCacheLimit)
            {
                _pointers[hash] = pointer;
            }
        }

        var keys = await storage.GetTableAsync(IdentityTables.ApiKeys, cancellationToken).ConfigureAwait(false);
        _rows.TryGetValue(hash, out var cached);
        var now = clock.GetUtcNow();
        var (entity, decision) = await limiter.AdmitAsync(
            keys,
            pointer.WorkspaceId,
            cached,
            async ct =>
            {
                var row = await keys.GetEntityIfExistsAsync<ApiKeyEntity>(pointer.WorkspaceId, pointer.KeyId, cancellationToken: ct).ConfigureAwait(false);
                return row.HasValue && Secrets.HashesEqual(row.Value!.KeyHash, hash) ? row.Value : null;
            },
            e => e.RevokedAt is null && !(e.ExpiresAt <= now),
            e => e.Clone(),
            (e, at) =>
            {
                e.RequestCount++;
                e.LastUsedAt = at;
            },
            cancellationToken).ConfigureAwait(false);
        RateLimiter.Remember(_rows, hash, entity);

        if (entity is null)
        {
            return invalid;
        }

        if (entity.RevokedAt is not null)
        {
            return new ApiError(ErrorCodes.KeyRevoked, "This API key has been revoked.");
        }

        if (entity.ExpiresAt <= now)
        {
            return new ApiError(ErrorCodes.KeyExpired, "This API key has expired.");
        }

        return (CallerOf(entity), decision);
    }

    private static Caller CallerOf(ApiKeyEntity key) => new(key.PartitionKey, key.UserId, key.Role, key.ScopeList) { KeyId = key.RowKey, KeyName = key.Name };

    // Owners and admins manage every key in the workspace; others only their own.
    private static bool CanManage(Caller caller, ApiKeyEntity key) => Roles.IsManager(caller.Role) || key.UserId == caller.UserId;

    private static DateTimeOffset TruncateToSecond(DateTimeOffset value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), value.Offset);
}
