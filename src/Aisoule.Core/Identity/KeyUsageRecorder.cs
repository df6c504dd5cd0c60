using System.Collections.Concurrent;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Storage;
using Azure;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Identity;

/// <summary>
/// Keeps <c>last_used_at</c> and <c>request_count</c> off the request path: requests add to an in-memory tally,
/// and every <c>KeyUsageFlushInterval</c> each key's tally is merged into its row with one ETag-guarded write.
/// If an instance dies, at most one interval of usage counts from that instance is lost; the keys are not.
/// </summary>
public sealed partial class KeyUsageRecorder(StorageAccount storage, IOptions<IdentityOptions> options, ILogger<KeyUsageRecorder> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<(string WorkspaceId, string KeyId), Tally> _pending = new();

    public void Record(string workspaceId, string keyId, DateTimeOffset at) =>
        _pending.AddOrUpdate((workspaceId, keyId), _ => new Tally(1, at), (_, t) => t.Add(1, at));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.KeyUsageFlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        // Each key's tally is taken out whole; a request counted meanwhile starts a fresh tally for the next flush.
        foreach (var key in _pending.Keys)
        {
            if (!_pending.TryRemove(key, out var tally))
            {
                continue;
            }

            var (workspaceId, keyId) = key;
            try
            {
                await WriteAsync(workspaceId, keyId, tally, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RequestFailedException || StorageFailures.IsUnavailable(ex))
            {
                // Put it back; the next flush tries again.
                _pending.AddOrUpdate((workspaceId, keyId), tally, (_, t) => t.Add(tally.Count, tally.LastUsedAt));
                LogFlushFailed(logger, keyId, ex.Message);
            }
        }
    }

    private async Task WriteAsync(string workspaceId, string keyId, Tally tally, CancellationToken cancellationToken)
    {
        var keys = await storage.GetTableAsync(IdentityTables.ApiKeys, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var found = await keys.GetEntityIfExistsAsync<ApiKeyEntity>(workspaceId, keyId, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!found.HasValue)
            {
                return;
            }

            var key = found.Value!;
            key.RequestCount += tally.Count;
            key.LastUsedAt = key.LastUsedAt > tally.LastUsedAt ? key.LastUsedAt : tally.LastUsedAt;
            try
            {
                await keys.UpdateEntityAsync(key, key.ETag, Azure.Data.Tables.TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status == 412 && attempt < 20)
            {
                // Revoked or written by another instance meanwhile: merge into the fresh row.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record usage of API key {KeyId}: {Reason}")]
    private static partial void LogFlushFailed(ILogger logger, string keyId, string reason);

    private readonly record struct Tally(long Count, DateTimeOffset LastUsedAt)
    {
        public Tally Add(long count, DateTimeOffset at) => new(Count + count, at > LastUsedAt ? at : LastUsedAt);
    }
}
