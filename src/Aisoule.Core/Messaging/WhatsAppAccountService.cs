using System.Collections.Concurrent;
using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Messaging;

/// <summary>
/// A workspace's WhatsApp numbers. In sandbox mode every workspace has a connected sandbox account, created on
/// first use. Access tokens go to the secret store; the row keeps only the secret's name.
/// </summary>
public sealed class WhatsAppAccountService(StorageAccount storage, IOptionsMonitor<WhatsAppOptions> options, ISecretStore secrets, IWhatsAppProvider provider, TimeProvider clock)
{
    public const string SandboxAccountId = "wa_sandbox";
    private readonly ConcurrentDictionary<string, bool> _sandboxEnsured = new(StringComparer.Ordinal);

    // A token's secret is named after its account and never rewritten (a new token is a new account), so a value
    // read once stays right; removing the account stops its sends before the token is asked for.
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);

    // The dispatcher's view of each account, at most a second old: a disconnect or removal holds or fails
    // sends within a second, without an extra read per message.
    private readonly ConcurrentDictionary<(string, string), (WhatsAppAccountEntity Account, DateTimeOffset At)> _recent = new();

    /// <summary>The account as of at most <paramref name="maxAge"/> ago.</summary>
    public async Task<WhatsAppAccountEntity?> GetRecentAsync(string workspaceId, string accountId, TimeSpan maxAge, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (_recent.TryGetValue((workspaceId, accountId), out var seen) && now - seen.At < maxAge)
        {
            return seen.Account;
        }

        var account = await GetAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);
        if (account is not null && _recent.Count < 10_000)
        {
            _recent[(workspaceId, accountId)] = (account, now);
        }

        return account;
    }

    public async Task<IReadOnlyList<WhatsAppAccountEntity>> ListAsync(string workspaceId, CancellationToken cancellationToken)
    {
        await EnsureSandboxAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var accounts = new List<WhatsAppAccountEntity>();
        await foreach (var a in table.QueryAsync<WhatsAppAccountEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (a.Status != AccountStatus.Removed)
            {
                accounts.Add(a);
            }
        }

        return accounts;
    }

    /// <summary>The account that sends: the one named, or the workspace's default.</summary>
    public async Task<Outcome<WhatsAppAccountEntity>> ResolveAsync(string workspaceId, string? accountId, CancellationToken cancellationToken)
    {
        if (accountId is not null)
        {
            return await GetAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false) is { Status: not AccountStatus.Removed } found
                ? found
                : ApiError.Validation("whatsapp_account_id", "No WhatsApp account with this id in your workspace.");
        }

        var all = await ListAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        return (all.FirstOrDefault(a => a.IsDefault) ?? (all.Count > 0 ? all[0] : null)) is { } chosen
            ? chosen
            : new ApiError(422, "no_account", "This workspace has no WhatsApp account to send from. Add one with POST /api/accounts.");
    }

    public async Task<WhatsAppAccountEntity?> GetAsync(string workspaceId, string accountId, CancellationToken cancellationToken)
    {
        if (accountId == SandboxAccountId)
        {
            await EnsureSandboxAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        }

        if (!IsAccountId(accountId))
        {
            return null;
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<WhatsAppAccountEntity>(workspaceId, accountId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value : null;
    }

    /// <summary>Adds a Cloud API number: the token is checked against the Graph API first, then kept as a secret.</summary>
    public async Task<Outcome<WhatsAppAccountEntity>> AddAsync(string workspaceId, NewAccount draft, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var id = Secrets.NewId("wa_");
        var check = await provider.CheckAccountAsync(new ProviderAccount(workspaceId, id, draft.PhoneNumberId, draft.WabaId, draft.AccessToken), cancellationToken).ConfigureAwait(false);
        if (check.Error is { } error)
        {
            return new ApiError(422, "account_check_failed", $"Meta refused this phone number and token: {error.Title}");
        }

        var pointers = await storage.GetTableAsync(MessagingNames.PhoneNumbers, cancellationToken).ConfigureAwait(false);
        var existing = await pointers.GetEntityIfExistsAsync<PhoneNumberEntity>(draft.PhoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
        if (existing.HasValue)
        {
            var owner = existing.Value!;
            if (owner.WorkspaceId != workspaceId || await GetAsync(workspaceId, owner.AccountId, cancellationToken).ConfigureAwait(false) is { Status: not AccountStatus.Removed })
            {
                return ApiError.Conflict("account_exists", "This phone_number_id is already connected.");
            }

            await pointers.DeleteEntityAsync(owner.PartitionKey, owner.RowKey, owner.ETag, cancellationToken).ConfigureAwait(false);
        }

        var secretName = "wa-token-" + id.Replace('_', '-');
        await secrets.SetAsync(secretName, draft.AccessToken, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var entity = new WhatsAppAccountEntity
        {
            PartitionKey = workspaceId,
            RowKey = id,
            Name = draft.Name,
            PhoneNumber = check.Wamid is { Length: > 0 } display ? Contacts.E164.Normalise(display) ?? display : "",
            PhoneNumberId = draft.PhoneNumberId,
            WabaId = draft.WabaId,
            ThroughputMps = draft.ThroughputMps ?? options.CurrentValue.DefaultThroughputMps,
            IsDefault = draft.IsDefault ?? false,
            Provider = WhatsAppOptions.Cloud,
            TokenSecretName = secretName,
            CreatedAt = now,
        };

        // The pointer is the commit point: two workspaces racing for one number make one account.
        try
        {
            await pointers.AddEntityAsync(new PhoneNumberEntity { PartitionKey = draft.PhoneNumberId, WorkspaceId = workspaceId, AccountId = id }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return ApiError.Conflict("account_exists", "This phone_number_id is already connected.");
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        if (entity.IsDefault)
        {
            await ClearOtherDefaultsAsync(table, workspaceId, id, cancellationToken).ConfigureAwait(false);
        }

        return entity;
    }

    /// <summary>DELETE /accounts/{id}: the account is removed and its queued sends fail.</summary>
    public async Task<Outcome<WhatsAppAccountEntity>> RemoveAsync(string workspaceId, string accountId, CancellationToken cancellationToken) =>
        await SetStatusAsync(workspaceId, accountId, AccountStatus.Removed, "Removed by the workspace.", cancellationToken).ConfigureAwait(false) is { } removed
            ? removed
            : ApiError.NotFound("No WhatsApp account with this id.");

    /// <summary>Sets an account's status (ETag-guarded); null when there is no such account.</summary>
    public async Task<WhatsAppAccountEntity?> SetStatusAsync(string workspaceId, string accountId, string status, string? reason, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var account = await GetAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);
            if (account is null || account.Status == AccountStatus.Removed)
            {
                return null;
            }

            if (account.Status == status)
            {
                _recent[(workspaceId, accountId)] = (account, clock.GetUtcNow());
                return account;
            }

            account.Status = status;
            account.StatusReason = reason;
            try
            {
                await table.UpdateEntityAsync(account, account.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                _recent[(workspaceId, accountId)] = (account, clock.GetUtcNow());
                return account;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
            }
        }

        throw new InvalidOperationException($"Account {accountId} kept changing.");
    }

    /// <summary>Which workspace and account a Meta phone_number_id belongs to.</summary>
    public async Task<PhoneNumberEntity?> FindByPhoneNumberIdAsync(string phoneNumberId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(phoneNumberId) || phoneNumberId.Length > 100 || phoneNumberId.Any(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c)))
        {
            return null;
        }

        var pointers = await storage.GetTableAsync(MessagingNames.PhoneNumbers, cancellationToken).ConfigureAwait(false);
        var row = await pointers.GetEntityIfExistsAsync<PhoneNumberEntity>(phoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value : null;
    }

    /// <summary>What the provider needs to send from this account, with the token read from the secret store.</summary>
    public async Task<ProviderAccount> ProviderAccountAsync(WhatsAppAccountEntity account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        string? token = null;
        if (account.TokenSecretName is { } name && !_tokens.TryGetValue(name, out token))
        {
            token = await secrets.GetAsync(name, cancellationToken).ConfigureAwait(false);
            if (token is not null && _tokens.Count < 10_000)
            {
                _tokens[name] = token;
            }
        }

        return new ProviderAccount(account.PartitionKey, account.RowKey, account.PhoneNumberId, account.WabaId, token);
    }

    public static string SandboxPhoneNumberId(string workspaceId) => "sandbox-" + workspaceId;

    private async Task EnsureSandboxAsync(string workspaceId, CancellationToken cancellationToken)
    {
        if (!options.CurrentValue.IsSandbox || _sandboxEnsured.ContainsKey(workspaceId))
        {
            return;
        }

        var phoneNumberId = SandboxPhoneNumberId(workspaceId);
        var pointers = await storage.GetTableAsync(MessagingNames.PhoneNumbers, cancellationToken).ConfigureAwait(false);
        await pointers.UpsertEntityAsync(new PhoneNumberEntity { PartitionKey = phoneNumberId, WorkspaceId = workspaceId, AccountId = SandboxAccountId }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await table.AddEntityAsync(new WhatsAppAccountEntity
            {
                PartitionKey = workspaceId,
                RowKey = SandboxAccountId,
                Name = "Sandbox",
                PhoneNumber = SandboxWhatsAppProvider.SandboxNumber,
                PhoneNumberId = phoneNumberId,
                WabaId = "sandbox-waba-" + workspaceId,
                ThroughputMps = options.CurrentValue.DefaultThroughputMps,
                IsDefault = true,
                Provider = WhatsAppOptions.Sandbox,
                CreatedAt = clock.GetUtcNow(),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Another request or instance made it first: the same account.
        }

        _sandboxEnsured.TryAdd(workspaceId, true);
    }

    private static async Task ClearOtherDefaultsAsync(TableClient table, string workspaceId, string keep, CancellationToken cancellationToken)
    {
        await foreach (var a in table.QueryAsync<WhatsAppAccountEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (a.RowKey != keep && a.IsDefault)
            {
                a.IsDefault = false;
                try
                {
                    await table.UpdateEntityAsync(a, a.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }
                catch (RequestFailedException ex) when (ex.Status == 412)
                {
                }
            }
        }
    }

    private static bool IsAccountId(string id) => id == SandboxAccountId || Secrets.IsId(id, "wa_");

    private Task<TableClient> TableAsync(CancellationToken cancellationToken) => storage.GetTableAsync(MessagingNames.Accounts, cancellationToken);
}

/// <summary>POST /accounts.</summary>
public sealed record NewAccount(string Name, string PhoneNumberId, string WabaId, string AccessToken, int? ThroughputMps, bool? IsDefault);
