using System.Collections.Concurrent;
using Aisoule.Core.Accounts;
using Aisoule.Core.Messaging;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.WhatsApp;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Templates;

/// <summary>
/// A workspace's message templates, copied from the provider (Meta's <c>message_templates</c>, or the sandbox's
/// list) into the workspace's partition: on demand, on a timer, the first time a workspace asks, when an account
/// is added or gets a new token, and when a send names a template not yet known for its account (at most once a
/// minute per account). A removed account's templates are deleted with it, and never listed.
/// </summary>
public sealed class TemplateService(StorageAccount storage, WhatsAppAccountService accounts, IWhatsAppProvider provider, TimeProvider clock, ILogger<TemplateService> logger)
{
    /// <summary>How often a send naming an unknown template may pull its account's templates (per instance).</summary>
    public static readonly TimeSpan OnDemandSyncInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<(string, string), (Lazy<Task> Pull, DateTimeOffset At)> _onDemandSyncs = new();

    public async Task<IReadOnlyList<TemplateEntity>> ListAsync(string workspaceId, string? accountId, string? status, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var (rows, live) = await LiveAsync(table, workspaceId, cancellationToken).ConfigureAwait(false);

        // An account with no templates yet (never pulled, or added while the list was already filled by others) is
        // pulled now, as a send naming one of its templates would: at most once a minute per account and instance.
        var unpulled = live.Where(a => !rows.Any(t => t.AccountId == a)).ToList();
        if (unpulled.Count > 0)
        {
            await Task.WhenAll(unpulled.Select(a => PullOnDemandAsync(workspaceId, a, cancellationToken))).ConfigureAwait(false);
            (rows, _) = await LiveAsync(table, workspaceId, cancellationToken).ConfigureAwait(false);
        }

        return [.. rows.Where(t => (accountId is null || t.AccountId == accountId) && (status is null || string.Equals(t.Status, status, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ThenBy(t => t.Language, StringComparer.Ordinal)];
    }

    /// <summary>The template a send names, for its account, or null.</summary>
    public async Task<TemplateEntity?> FindAsync(string workspaceId, string accountId, string name, string language, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var key = TemplateEntity.KeyOf(accountId, name, language);
        var row = await table.GetEntityIfExistsAsync<TemplateEntity>(workspaceId, key, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!row.HasValue)
        {
            // Not known for this account (never pulled, added since, or a pull on adding failed): pull its
            // templates now, at most once a minute per account, so unknown names cannot hammer Meta.
            await PullOnDemandAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);

            // Read again: this pull, or a concurrent or recent one, may have brought it.
            row = await table.GetEntityIfExistsAsync<TemplateEntity>(workspaceId, key, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return row.HasValue ? row.Value : null;
    }

    // One account's templates pulled on demand: concurrent callers share one pull (and wait for it); a later one
    // within the interval reuses its result, so nothing a caller sends can hammer Meta.
    private async Task PullOnDemandAsync(string workspaceId, string accountId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var fresh = (Pull: new Lazy<Task>(() => SyncAsync(workspaceId, accountId, CancellationToken.None)), At: now);
        if (_onDemandSyncs.Count >= 10_000)
        {
            _onDemandSyncs.Clear();
        }

        var pull = _onDemandSyncs.AddOrUpdate((workspaceId, accountId), fresh, (_, seen) => now - seen.At >= OnDemandSyncInterval || (seen.Pull.IsValueCreated && seen.Pull.Value.IsFaulted) ? fresh : seen);
        await pull.Pull.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pulls the templates of one account (or all the workspace's) from the provider; returns how many.</summary>
    public async Task<Outcome<int>> SyncAsync(string workspaceId, string? accountId, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var targets = (await accounts.ListAsync(workspaceId, cancellationToken).ConfigureAwait(false))
            .Where(a => accountId is null || a.RowKey == accountId).ToList();
        if (accountId is not null && targets.Count == 0)
        {
            return ApiError.Validation("whatsapp_account_id", "No WhatsApp account with this id in your workspace.");
        }

        var count = 0;
        foreach (var account in targets)
        {
            var listed = await provider.ListTemplatesAsync(await accounts.ProviderAccountAsync(account, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            if (listed.Error is { } error)
            {
                logger.TemplateSyncFailed(account.RowKey, error.Code, error.Title);
                if (accountId is not null)
                {
                    return new ApiError(ErrorCodes.ProviderError, $"Meta did not list the templates: {error.Title}");
                }

                continue;
            }

            var now = clock.GetUtcNow();
            var fresh = listed.Templates!.Select(t => new TemplateEntity
            {
                PartitionKey = workspaceId,
                RowKey = TemplateEntity.KeyOf(account.RowKey, t.Name, t.Language),
                Id = t.Id,
                AccountId = account.RowKey,
                Name = t.Name,
                Language = t.Language,
                Category = t.Category,
                Status = t.Status,
                ComponentsJson = t.ComponentsJson,
                ParameterFormat = TemplateParameters.FormatOf(t.ParameterFormat),
                ParametersJson = System.Text.Json.JsonSerializer.Serialize(TemplateParameters.Declared(TemplateParameters.FormatOf(t.ParameterFormat), t.ComponentsJson)),
                SyncedAt = now,
            }).DistinctBy(t => t.RowKey).ToList();
            var stale = (await ReadAsync(table, workspaceId, cancellationToken).ConfigureAwait(false))
                .Where(t => t.AccountId == account.RowKey && fresh.All(f => f.RowKey != t.RowKey)).ToList();
            var actions = fresh.Select(t => new TableTransactionAction(TableTransactionActionType.UpsertReplace, t))
                .Concat(stale.Select(t => new TableTransactionAction(TableTransactionActionType.Delete, t, ETag.All)));
            foreach (var chunk in actions.Chunk(TableBatch.MaxActions))
            {
                await TableBatch.SubmitAsync(table, chunk, cancellationToken).ConfigureAwait(false);
            }

            count += fresh.Count;
        }

        return count;
    }

    /// <summary>
    /// An account was added or given a new token: its templates are pulled at once, best-effort. A failure is
    /// logged (by <see cref="SyncAsync"/>) and changes nothing; the first send naming a template pulls again.
    /// </summary>
    public Task PullForAccountAsync(string workspaceId, string accountId, CancellationToken cancellationToken = default) =>
        SyncAsync(workspaceId, accountId, cancellationToken);

    /// <summary>A removed account's templates are deleted: they can no longer be listed or sent.</summary>
    public async Task ForgetAccountAsync(string workspaceId, string accountId, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var gone = (await ReadAsync(table, workspaceId, cancellationToken).ConfigureAwait(false)).Where(t => t.AccountId == accountId)
            .Select(t => new TableTransactionAction(TableTransactionActionType.Delete, t, ETag.All));
        foreach (var chunk in gone.Chunk(TableBatch.MaxActions))
        {
            try
            {
                await TableBatch.SubmitAsync(table, chunk, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // A concurrent removal deleted some first; whatever is left is never listed (LiveAsync).
            }
        }

        _onDemandSyncs.TryRemove((workspaceId, accountId), out _);
    }

    /// <summary>
    /// The scheduled sync: every Cloud API number of every workspace (the sandbox's templates never change).
    /// One workspace's failure is logged and does not stop the others.
    /// </summary>
    public async Task<int> SyncEverywhereAsync(CancellationToken cancellationToken = default)
    {
        var numbers = await storage.GetTableAsync(MessagingNames.PhoneNumbers, cancellationToken).ConfigureAwait(false);
        var targets = new HashSet<(string, string)>();
        await foreach (var n in numbers.QueryAsync<PhoneNumberEntity>(select: ["PartitionKey", "WorkspaceId", "AccountId"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (n.AccountId != WhatsAppAccountService.SandboxAccountId)
            {
                targets.Add((n.WorkspaceId, n.AccountId));
            }
        }

        var synced = 0;
        foreach (var (workspaceId, accountId) in targets)
        {
            if (await accounts.GetAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false) is not { Status: AccountStatus.Connected })
            {
                continue;
            }

            var outcome = await SyncAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);
            synced += outcome.Succeeded ? outcome.Value : 0;
        }

        return synced;
    }

    /// <summary>
    /// The workspace's templates of accounts that are not removed: one removed while its templates were being
    /// pulled, or whose removal stopped before deleting them, is never listed.
    /// </summary>
    private async Task<(List<TemplateEntity> Rows, HashSet<string> Accounts)> LiveAsync(TableClient table, string workspaceId, CancellationToken cancellationToken)
    {
        var live = (await accounts.ListAsync(workspaceId, cancellationToken).ConfigureAwait(false)).Select(a => a.RowKey).ToHashSet(StringComparer.Ordinal);
        return ([.. (await ReadAsync(table, workspaceId, cancellationToken).ConfigureAwait(false)).Where(t => live.Contains(t.AccountId))], live);
    }

    private static async Task<List<TemplateEntity>> ReadAsync(TableClient table, string workspaceId, CancellationToken cancellationToken)
    {
        var rows = new List<TemplateEntity>();
        await foreach (var t in table.QueryAsync<TemplateEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(t);
        }

        return rows;
    }

    private Task<TableClient> TableAsync(CancellationToken cancellationToken) => storage.GetTableAsync(MessagingNames.Templates, cancellationToken);
}
