using System.Collections.Concurrent;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.RateLimiting;

/// <summary>
/// Admits a request against a row's sliding log with one ETag-guarded write, so N instances together admit no
/// more than one would. Each instance remembers the row as it last wrote it: when no other instance has written
/// since, the write alone both checks and records (one storage call); when one has, the write fails on the ETag,
/// and the row is read fresh and decided again. A refusal is only ever given on a freshly read row, and a
/// refused request writes nothing, so it costs no quota.
/// </summary>
public sealed class RateLimiter(StorageAccount storage, IOptionsMonitor<RateLimitOptions> options, TimeProvider clock)
{
    internal const string SessionTable = "ratelimits";
    private const int CacheLimit = 10_000;
    private static readonly TimeSpan ContentionBudget = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, RateLimitEntity> _sessions = new(StringComparer.Ordinal);

    /// <summary>The per-user limit for a session caller.</summary>
    public async Task<RateDecision> AdmitUserAsync(string workspaceId, string userId, CancellationToken cancellationToken = default)
    {
        var table = await storage.GetTableAsync(SessionTable, cancellationToken).ConfigureAwait(false);
        _sessions.TryGetValue(userId, out var cached);
        var (entity, decision) = await AdmitAsync(table, workspaceId, cached, async ct =>
        {
            var found = await table.GetEntityIfExistsAsync<RateLimitEntity>(userId, RateLimitEntity.Row, cancellationToken: ct).ConfigureAwait(false);
            if (found.HasValue)
            {
                return found.Value;
            }

            try
            {
                var fresh = new RateLimitEntity { PartitionKey = userId };
                fresh.ETag = (await table.AddEntityAsync(fresh, ct).ConfigureAwait(false)).Headers.ETag ?? ETag.All;
                return fresh;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                return (await table.GetEntityAsync<RateLimitEntity>(userId, RateLimitEntity.Row, cancellationToken: ct).ConfigureAwait(false)).Value;
            }
        }, _ => true, e => new RateLimitEntity { PartitionKey = e.PartitionKey, RowKey = e.RowKey, RateLog = e.RateLog, ETag = e.ETag }, (_, _) => { }, cancellationToken).ConfigureAwait(false);
        Remember(_sessions, userId, entity!);
        return decision;
    }

    /// <summary>
    /// The admission loop for any rate-logged row. <paramref name="readFresh"/> returns null when the row is gone;
    /// a row that is not <paramref name="usable"/> (a revoked key) is returned unadmitted for the caller to refuse.
    /// <paramref name="touch"/> adds what else the admitting write should record (a key's usage).
    /// </summary>
    internal async Task<(T? Entity, RateDecision Decision)> AdmitAsync<T>(
        TableClient table,
        string workspaceId,
        T? cached,
        Func<CancellationToken, Task<T?>> readFresh,
        Func<T, bool> usable,
        Func<T, T> copy,
        Action<T, DateTimeOffset> touch,
        CancellationToken cancellationToken)
        where T : class, IRateLogged
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(readFresh);
        var (perMinute, perSecond) = options.CurrentValue.For(workspaceId);
        var fresh = cached is null;
        var entity = cached ?? await readFresh(cancellationToken).ConfigureAwait(false);
        RateDecision? decision = null;
        return await OptimisticRetry.RunAsync<(T?, RateDecision)>(async attempt =>
        {
            if (!attempt.IsFirst)
            {
                // Another instance wrote since this one read: read the row as it is now and decide again.
                (entity, fresh) = (await readFresh(cancellationToken).ConfigureAwait(false), true);
            }

            while (true)
            {
                if (entity is null || !usable(entity))
                {
                    return (entity, new RateDecision(false, perMinute, 0, clock.GetUtcNow(), TimeSpan.Zero));
                }

                var now = clock.GetUtcNow();
                var times = SlidingLog.Parse(entity.RateLog, now);
                decision = SlidingLog.Decide(times, now, perMinute, perSecond);
                if (!decision.Admitted && !fresh)
                {
                    // Only a freshly read row may refuse.
                    (entity, fresh) = (await readFresh(cancellationToken).ConfigureAwait(false), true);
                    continue;
                }

                if (!decision.Admitted)
                {
                    return (entity, decision);
                }

                var updated = copy(entity);
                updated.RateLog = SlidingLog.Format(times);
                touch(updated, now);
                var response = await table.UpdateEntityAsync(updated, entity.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                updated.ETag = response.Headers.ETag ?? ETag.All;
                return (updated, decision);
            }
        },
        // Hammered harder than storage can order: refuse rather than queue the caller.
        gaveUp: () => (entity, decision! with { Admitted = false, Remaining = 0, RetryAfter = TimeSpan.FromSeconds(1) }),
        RetryBound.Time(ContentionBudget),
        cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Would the row as this instance last saw it admit one more request now? Only a hint (another instance may have
    /// written since): a caller over its limit is not worth reading ahead for. It decides nothing.
    /// </summary>
    internal bool WouldAdmit(string workspaceId, IRateLogged entity)
    {
        var (perMinute, perSecond) = options.CurrentValue.For(workspaceId);
        var now = clock.GetUtcNow();
        return SlidingLog.Decide(SlidingLog.Parse(entity.RateLog, now), now, perMinute, perSecond).Admitted;
    }

    /// <summary><see cref="WouldAdmit(string, IRateLogged)"/> for a session user; true when this instance has no row for them.</summary>
    internal bool WouldAdmitUser(string workspaceId, string userId) =>
        !_sessions.TryGetValue(userId, out var row) || WouldAdmit(workspaceId, row);

    internal static void Remember<T>(ConcurrentDictionary<string, T> cache, string key, T? entity)
        where T : class
    {
        if (entity is null)
        {
            cache.TryRemove(key, out _);
        }
        else if (cache.Count < CacheLimit || cache.ContainsKey(key))
        {
            cache[key] = entity;
        }
    }
}
