using System.Security.Cryptography;
using System.Text;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging.Sending;

/// <summary>
/// Table <c>idempotency</c>: one record per Idempotency-Key of a workspace (its SHA-256), holding the hash of the body
/// it was first used with and the message id that request sends under. The whole protocol is here: look the key up,
/// claim it (an atomic insert, or an ETag-guarded replace of an expired record), give it back, and purge records past
/// their 24 hours. Records stop counting at 24 hours anyway (a new request claims the key afresh); the purge only keeps
/// the table to about a day of keyed sends, so its scan is bounded by that, not by the history.
/// </summary>
public sealed class IdempotencyStore(StorageAccount storage, TimeProvider clock)
{
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>The record's key for a caller's Idempotency-Key.</summary>
    public static string HashKey(string idempotencyKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)));

    /// <summary>The fingerprint of a request body, compared on a replay.</summary>
    public static string HashBody(ReadOnlySpan<byte> rawBody) => Convert.ToHexStringLower(SHA256.HashData(rawBody));

    /// <summary>
    /// What the key is at <paramref name="now"/>: free (no record, or an expired one, returned so a claim can replace
    /// it), a replay (a live record for this body), or reused (a live record for another body).
    /// </summary>
    public async Task<IdempotencyLookup> LookupAsync(string workspaceId, string keyHash, string bodyHash, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<TableEntity>(workspaceId, keyHash, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!found.HasValue)
        {
            return new(IdempotencyState.Free, null);
        }

        var record = Record(found.Value!);
        if (record.CreatedAt <= now - Window)
        {
            return new(IdempotencyState.Free, record);
        }

        return new(string.Equals(record.BodyHash, bodyHash, StringComparison.Ordinal) ? IdempotencyState.Replay : IdempotencyState.Reused, record);
    }

    /// <summary>
    /// Claims the key for <paramref name="bodyHash"/> under a new message id: an atomic insert, or the replace of
    /// <paramref name="expired"/> guarded by its ETag. Null: another request claimed it first (look again).
    /// </summary>
    public async Task<IdempotencyRecord?> ClaimAsync(string workspaceId, string keyHash, string bodyHash, IdempotencyRecord? expired, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var messageId = MessageKeys.NewId(now);
        var claim = new TableEntity(workspaceId, keyHash) { ["BodyHash"] = bodyHash, ["MessageId"] = messageId, ["CreatedAt"] = now };
        try
        {
            var response = expired is null
                ? await table.AddEntityAsync(claim, cancellationToken).ConfigureAwait(false)
                : await table.UpdateEntityAsync(claim, expired.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return new IdempotencyRecord(workspaceId, keyHash, bodyHash, messageId, now, response.Headers.ETag ?? ETag.All);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Someone else's claim, or this one's: the storage client retried an insert that had landed (its answer
            // lost). The message id is new, so finding it in the record means the claim is ours.
            var found = await table.GetEntityIfExistsAsync<TableEntity>(workspaceId, keyHash, cancellationToken: cancellationToken).ConfigureAwait(false);
            return found.HasValue && found.Value!.GetString("MessageId") == messageId ? Record(found.Value) : null;
        }
    }

    /// <summary>
    /// Takes over the claim of a request that seems gone, to finish its send under the same message id: the record is
    /// rewritten as it is, guarded by <paramref name="record"/>'s ETag, so its ETag changes and the first request's
    /// <see cref="ReleaseAsync"/> (guarded by the ETag it claimed with) no longer deletes it. Null: the record changed or
    /// went meanwhile (look again). A takeover is never given back.
    /// </summary>
    public async Task<IdempotencyRecord?> TakeOverAsync(IdempotencyRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var takeOver = MessageKeys.NewWriteId();
        var row = new TableEntity(record.WorkspaceId, record.KeyHash)
        {
            ["BodyHash"] = record.BodyHash,
            ["MessageId"] = record.MessageId,
            ["CreatedAt"] = record.CreatedAt,
            ["TakenOver"] = takeOver,
        };
        try
        {
            var response = await table.UpdateEntityAsync(row, record.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return record with { ETag = response.Headers.ETag ?? ETag.All };
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // Changed or gone, unless by this very write (a retry of it, its answer lost).
            var now = await table.GetEntityIfExistsAsync<TableEntity>(record.WorkspaceId, record.KeyHash, cancellationToken: cancellationToken).ConfigureAwait(false);
            return now.HasValue && now.Value!.GetString("TakenOver") == takeOver ? Record(now.Value) : null;
        }
    }

    /// <summary>
    /// Gives a key back: deletes the record if it is still the one held (its ETag), so never after a
    /// <see cref="TakeOverAsync"/>: the message id may be in use by the request that took it over.
    /// </summary>
    public async Task ReleaseAsync(IdempotencyRecord claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        try
        {
            // Not the caller's token: a cancelled request still frees its key.
            var table = await TableAsync(CancellationToken.None).ConfigureAwait(false);
            await table.DeleteEntityAsync(claim.WorkspaceId, claim.KeyHash, claim.ETag, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageFailures.IsUnavailable(ex))
        {
            // Gone or taken again already; or storage is away, and the claim ends with its 24 hours. The retry of
            // the same body still finishes it (MessageService.SendAsync), only another body waits.
        }
    }

    /// <summary>Deletes every record created before <c>now − 24 h</c>; returns how many went.</summary>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken = default) => await PurgeAsync(clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);

    internal async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var cutoff = now - Window;
        var expired = table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"CreatedAt lt {cutoff}"), maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken);
        var deleted = 0;
        await Parallel.ForEachAsync(expired, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (row, ct) =>
        {
            try
            {
                // Guarded by the ETag read: a record a new request has just re-claimed is left alone.
                await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, ct).ConfigureAwait(false);
                Interlocked.Increment(ref deleted);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Gone already, or claimed again since the query.
            }
        }).ConfigureAwait(false);
        return deleted;
    }

    private static IdempotencyRecord Record(TableEntity row) =>
        new(row.PartitionKey, row.RowKey, row.GetString("BodyHash") ?? "", row.GetString("MessageId") ?? "", row.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, row.ETag);

    private Task<TableClient> TableAsync(CancellationToken cancellationToken) => storage.GetTableAsync(MessagingNames.Idempotency, cancellationToken);
}

/// <summary>One Idempotency-Key record, with the ETag it was claimed or read with.</summary>
public sealed record IdempotencyRecord(string WorkspaceId, string KeyHash, string BodyHash, string MessageId, DateTimeOffset CreatedAt, ETag ETag);

/// <summary>What an Idempotency-Key is at the moment of a request.</summary>
public enum IdempotencyState
{
    /// <summary>No live record: the request may claim it.</summary>
    Free,

    /// <summary>A live record for the same body: the request is answered as the first one was.</summary>
    Replay,

    /// <summary>A live record for another body: a 409.</summary>
    Reused,
}

/// <summary>An Idempotency-Key's state and its record, if there is one.</summary>
public readonly record struct IdempotencyLookup(IdempotencyState State, IdempotencyRecord? Record);
