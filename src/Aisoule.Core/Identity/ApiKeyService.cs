using System.Collections.Concurrent;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity;

/// <summary>
/// API keys: created from a session, listed and revoked within the caller's workspace, and checked on every
/// request. The key's state (revoked, expired) is read from storage on every request — there is no cache to
/// outlive a revocation; only the immutable hash → key-id pointer is cached.
/// </summary>
public sealed class ApiKeyService(StorageAccount storage, KeyUsageRecorder usage, TimeProvider clock)
{
    private const int PointerCacheLimit = 10_000;
    private readonly ConcurrentDictionary<string, (string WorkspaceId, string KeyId)> _pointers = new(StringComparer.Ordinal);

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
            return ApiError.Forbidden(ErrorCodes.InsufficientScope, $"You cannot grant the '{beyond}' scope: your role does not have it.");
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
        for (var attempt = 0; ; attempt++)
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
            try
            {
                await keys.UpdateEntityAsync(key, key.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                return KeyView.From(key, key.RevokedAt.Value);
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // Usage was written at the same moment; read again and revoke that.
                if (attempt >= 20)
                {
                    return new ApiError(503, ErrorCodes.StorageUnavailable, "The key is busy; try revoking it again.") { RetryAfter = TimeSpan.FromSeconds(1) };
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<Outcome<Caller>> AuthenticateAsync(string key, CancellationToken cancellationToken = default)
    {
        var invalid = ApiError.Unauthorized(ErrorCodes.InvalidApiKey, "The API key is not valid.");
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
        var record = await keys.GetEntityIfExistsAsync<ApiKeyEntity>(pointer.WorkspaceId, pointer.KeyId, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!record.HasValue || !Secrets.HashesEqual(record.Value!.KeyHash, hash))
        {
            return invalid;
        }

        var entity = record.Value!;
        var now = clock.GetUtcNow();
        if (entity.RevokedAt is not null)
        {
            return ApiError.Unauthorized(ErrorCodes.KeyRevoked, "This API key has been revoked.");
        }

        if (entity.ExpiresAt <= now)
        {
            return ApiError.Unauthorized(ErrorCodes.KeyExpired, "This API key has expired.");
        }

        usage.Record(entity.PartitionKey, entity.RowKey, now);
        return new Caller(entity.PartitionKey, entity.UserId, entity.Role, entity.ScopeList) { KeyId = entity.RowKey, KeyName = entity.Name };
    }

    // Owners and admins manage every key in the workspace; others only their own.
    private static bool CanManage(Caller caller, ApiKeyEntity key) => Roles.IsManager(caller.Role) || key.UserId == caller.UserId;

    private static DateTimeOffset TruncateToSecond(DateTimeOffset value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), value.Offset);
}
