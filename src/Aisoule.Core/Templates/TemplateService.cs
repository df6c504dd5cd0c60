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
/// list) into the workspace's partition: on demand, on a timer, and the first time a workspace asks.
/// </summary>
public sealed class TemplateService(StorageAccount storage, WhatsAppAccountService accounts, IWhatsAppProvider provider, TimeProvider clock, ILogger<TemplateService> logger)
{
    public async Task<IReadOnlyList<TemplateEntity>> ListAsync(string workspaceId, string? accountId, string? status, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ReadAsync(table, workspaceId, cancellationToken).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            await SyncAsync(workspaceId, null, cancellationToken).ConfigureAwait(false);
            rows = await ReadAsync(table, workspaceId, cancellationToken).ConfigureAwait(false);
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
            if ((await ReadAsync(table, workspaceId, cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                // A workspace that never listed its templates: pull them once now.
                await SyncAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);
            }

            // Read again either way: a concurrent request may have just finished that first pull.
            row = await table.GetEntityIfExistsAsync<TemplateEntity>(workspaceId, key, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return row.HasValue ? row.Value : null;
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
                    return new ApiError(502, "provider_error", $"Meta did not list the templates: {error.Title}");
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
