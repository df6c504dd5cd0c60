using System.Collections.Concurrent;
using System.Security.Cryptography;
using Aisoule.Core.Identity;
using Aisoule.Core.Messaging;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.WhatsApp;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Accounts;

/// <summary>
/// A workspace's WhatsApp numbers. In sandbox mode every workspace has a connected sandbox account, created on
/// first use. Access tokens go to the secret store; the row keeps only the secret's name. An account is
/// <c>connected</c>, <c>disconnected</c> (Meta refused it; connected again by a new token or the re-check timer)
/// or <c>removed</c> (for good; its phone number is free for any workspace).
/// </summary>
public sealed partial class WhatsAppAccountService(
    StorageAccount storage,
    IOptionsMonitor<WhatsAppOptions> options,
    ISecretStore secrets,
    IWhatsAppProvider provider,
    TimeProvider clock,
    ILogger<WhatsAppAccountService> logger)
{
    public const string SandboxAccountId = "wa_sandbox";
    private static readonly TimeSpan AbandonedPointerAge = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, bool> _sandboxEnsured = new(StringComparer.Ordinal);

    // A token's secret is never rewritten (a new token gets a new secret name), so a value read once stays right;
    // removing the account stops its sends before the token is asked for.
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);

    // The dispatcher's view of each account, at most a second old: a disconnect or removal holds or fails
    // sends within a second, without an extra read per message.
    private readonly RecentReads<(string, string), WhatsAppAccountEntity> _recent = new(clock);

    /// <summary>The account as of at most <paramref name="maxAge"/> ago.</summary>
    public Task<WhatsAppAccountEntity?> GetRecentAsync(string workspaceId, string accountId, TimeSpan maxAge, CancellationToken cancellationToken = default) =>
        _recent.GetAsync((workspaceId, accountId), maxAge, ct => GetAsync(workspaceId, accountId, ct), cancellationToken);

    public async Task<IReadOnlyList<WhatsAppAccountEntity>> ListAsync(string workspaceId, CancellationToken cancellationToken = default)
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

    /// <summary>
    /// The account that sends: the one named (even a disconnected or removed one, which the caller refuses), or
    /// the workspace's default. Without a default no other number is chosen for the caller: 422 no_default_account.
    /// </summary>
    public async Task<Outcome<WhatsAppAccountEntity>> ResolveAsync(string workspaceId, string? accountId, CancellationToken cancellationToken = default)
    {
        if (accountId is not null)
        {
            return await GetAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false) is { } found
                ? found
                : ApiError.Validation("whatsapp_account_id", "No WhatsApp account with this id in your workspace.");
        }

        var all = await ListAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        return all.FirstOrDefault(a => a.IsDefault) is { } chosen
            ? chosen
            : new ApiError(ErrorCodes.NoDefaultAccount, all.Count == 0
                ? "This workspace has no WhatsApp account to send from. Add one with POST /api/accounts."
                : "This workspace has no default WhatsApp account: name one in whatsapp_account_id, or choose the default with PUT /api/accounts/{id} and is_default.");
    }

    public async Task<WhatsAppAccountEntity?> GetAsync(string workspaceId, string accountId, CancellationToken cancellationToken = default)
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
    public async Task<Outcome<WhatsAppAccountEntity>> AddAsync(string workspaceId, NewAccount draft, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var id = Secrets.NewId("wa_");
        var check = await provider.CheckAccountAsync(new ProviderAccount(workspaceId, id, draft.PhoneNumberId, draft.WabaId, draft.AccessToken), cancellationToken).ConfigureAwait(false);
        if (check.Error is { } error)
        {
            return new ApiError(ErrorCodes.AccountCheckFailed, $"Meta refused this phone number and token: {error.Title}");
        }

        var pointers = await storage.GetTableAsync(MessagingNames.PhoneNumbers, cancellationToken).ConfigureAwait(false);
        var existing = await pointers.GetEntityIfExistsAsync<PhoneNumberEntity>(draft.PhoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
        if (existing.HasValue)
        {
            // A pointer to a live account is taken. One to a removed account (a removal that stopped before freeing
            // it) is free; so is one whose account was never written, once an add in progress would have written it.
            var owner = existing.Value!;
            var account = await GetAsync(owner.WorkspaceId, owner.AccountId, cancellationToken).ConfigureAwait(false);
            var abandoned = account is null && owner.Timestamp is { } at && clock.GetUtcNow() - at > AbandonedPointerAge;
            if (!(account is { Status: AccountStatus.Removed } || abandoned))
            {
                return new ApiError(ErrorCodes.AccountExists, "This phone_number_id is already connected.");
            }

            await DeletePointerAsync(pointers, owner, cancellationToken).ConfigureAwait(false);
        }

        // The workspace's only account is its default unless the caller says otherwise.
        var isDefault = draft.IsDefault ?? (await ListAsync(workspaceId, cancellationToken).ConfigureAwait(false)).Count == 0;
        var secretName = SecretName(id);
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
            IsDefault = isDefault,
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
            return new ApiError(ErrorCodes.AccountExists, "This phone_number_id is already connected.");
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        if (entity.IsDefault)
        {
            await ClearOtherDefaultsAsync(table, workspaceId, id, cancellationToken).ConfigureAwait(false);
        }

        return entity;
    }

    /// <summary>
    /// PUT /accounts/{id}: the fields given change. A new token is checked against the Graph API first (refused:
    /// nothing changes), stored under a new secret name, and connects a disconnected account again, so its held
    /// sends go out at their next look.
    /// </summary>
    public async Task<Outcome<WhatsAppAccountEntity>> UpdateAsync(string workspaceId, string accountId, AccountChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (await GetAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false) is not { Status: not AccountStatus.Removed } current)
        {
            return ApiError.NotFound("No WhatsApp account with this id.");
        }

        string? secretName = null;
        if (change.AccessToken is { } token)
        {
            if (current.Provider != WhatsAppOptions.Cloud)
            {
                return ApiError.Validation("access_token", "The sandbox account has no access token.");
            }

            var check = await provider.CheckAccountAsync(new ProviderAccount(workspaceId, accountId, current.PhoneNumberId, current.WabaId, token), cancellationToken).ConfigureAwait(false);
            if (check.Error is { } error)
            {
                return new ApiError(ErrorCodes.AccountCheckFailed, $"Meta refused this token for the account's number: {error.Title}");
            }

            secretName = SecretName(accountId);
            await secrets.SetAsync(secretName, token, cancellationToken).ConfigureAwait(false);
        }

        var (updated, _) = await ChangeAsync(workspaceId, accountId, a =>
        {
            a.Name = change.Name ?? a.Name;
            a.ThroughputMps = change.ThroughputMps ?? a.ThroughputMps;
            a.IsDefault = change.IsDefault ?? a.IsDefault;
            if (secretName is not null)
            {
                a.TokenSecretName = secretName;
                if (a.Status == AccountStatus.Disconnected)
                {
                    a.Status = AccountStatus.Connected;
                    a.StatusReason = null;
                }
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (updated is null)
        {
            return ApiError.NotFound("No WhatsApp account with this id.");
        }

        if (change.IsDefault == true)
        {
            await ClearOtherDefaultsAsync(await TableAsync(cancellationToken).ConfigureAwait(false), workspaceId, accountId, cancellationToken).ConfigureAwait(false);
        }

        if (secretName is not null)
        {
            LogTokenReplaced(logger, accountId, updated.Status);
        }

        return updated;
    }

    /// <summary>
    /// The re-check timer: every disconnected Cloud API account whose stored token opens its number again is
    /// connected (its held sends then go out). Returns how many were connected.
    /// </summary>
    public async Task<int> RecheckDisconnectedAsync(CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var disconnected = new List<WhatsAppAccountEntity>();
        await foreach (var a in table.QueryAsync<WhatsAppAccountEntity>(TableClient.CreateQueryFilter($"Status eq {AccountStatus.Disconnected}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            disconnected.Add(a);
        }

        var reconnected = 0;
        foreach (var account in disconnected.Where(a => a.Provider == WhatsAppOptions.Cloud))
        {
            var check = await provider.CheckAccountAsync(await ProviderAccountAsync(account, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            if (check.Error is { } error)
            {
                LogStillDisconnected(logger, account.RowKey, error.Code, error.Title);
                continue;
            }

            // Only if nothing changed it meanwhile (a new token, a removal).
            var (_, changed) = await ChangeAsync(account.PartitionKey, account.RowKey, a =>
            {
                if (a.Status != AccountStatus.Disconnected || a.TokenSecretName != account.TokenSecretName)
                {
                    return false;
                }

                a.Status = AccountStatus.Connected;
                a.StatusReason = null;
                return true;
            }, cancellationToken).ConfigureAwait(false);
            if (changed)
            {
                LogReconnected(logger, account.RowKey);
                reconnected++;
            }
        }

        return reconnected;
    }

    /// <summary>
    /// DELETE /accounts/{id}: the account is removed (its queued sends fail) and its phone number freed, so its
    /// inbound no longer reaches this workspace and any workspace may add it. Removing it again frees a number
    /// a stopped removal left behind, and answers 404.
    /// </summary>
    public async Task<Outcome<WhatsAppAccountEntity>> RemoveAsync(string workspaceId, string accountId, CancellationToken cancellationToken = default)
    {
        // A removed account is nobody's default: removing the default leaves the workspace without one.
        var (removed, _) = await ChangeAsync(workspaceId, accountId, a =>
        {
            a.Status = AccountStatus.Removed;
            a.StatusReason = "Removed by the workspace.";
            a.IsDefault = false;
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if ((removed ?? await GetAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false)) is { Status: AccountStatus.Removed } gone)
        {
            var pointers = await storage.GetTableAsync(MessagingNames.PhoneNumbers, cancellationToken).ConfigureAwait(false);
            var pointer = await pointers.GetEntityIfExistsAsync<PhoneNumberEntity>(gone.PhoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
            if (pointer.HasValue && pointer.Value!.WorkspaceId == workspaceId && pointer.Value.AccountId == accountId)
            {
                await DeletePointerAsync(pointers, pointer.Value, cancellationToken).ConfigureAwait(false);
            }
        }

        return removed is not null ? removed : ApiError.NotFound("No WhatsApp account with this id.");
    }

    /// <summary>Sets an account's status (ETag-guarded); null when there is no such account or it is removed.</summary>
    public async Task<WhatsAppAccountEntity?> SetStatusAsync(string workspaceId, string accountId, string status, string? reason, CancellationToken cancellationToken = default) =>
        (await ChangeAsync(workspaceId, accountId, a =>
        {
            if (a.Status == status)
            {
                return false;
            }

            a.Status = status;
            a.StatusReason = reason;
            return true;
        }, cancellationToken).ConfigureAwait(false)).Account;

    /// <summary>
    /// Applies <paramref name="change"/> to the stored account and writes it, guarded by the ETag it read (read and
    /// applied again on a conflict). Null when there is no such account or it is removed; <c>Changed</c> false when
    /// <paramref name="change"/> said there was nothing to write.
    /// </summary>
    private async Task<(WhatsAppAccountEntity? Account, bool Changed)> ChangeAsync(string workspaceId, string accountId, Func<WhatsAppAccountEntity, bool> change, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<(WhatsAppAccountEntity?, bool)>(async _ =>
        {
            var account = await GetAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);
            if (account is null || account.Status == AccountStatus.Removed)
            {
                return (null, false);
            }

            if (!change(account))
            {
                _recent.Set((workspaceId, accountId), account);
                return (account, false);
            }

            await table.UpdateEntityAsync(account, account.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            _recent.Set((workspaceId, accountId), account);
            return (account, true);
        }, gaveUp: () => throw new InvalidOperationException($"Account {accountId} kept changing."), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static async Task DeletePointerAsync(TableClient pointers, PhoneNumberEntity pointer, CancellationToken cancellationToken)
    {
        try
        {
            await pointers.DeleteEntityAsync(pointer.PartitionKey, pointer.RowKey, pointer.ETag, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // Gone or taken already: whoever did it decided.
        }
    }

    /// <summary>A new name for each token: a value read under a name never goes stale.</summary>
    private static string SecretName(string accountId) =>
        "wa-token-" + accountId.Replace('_', '-') + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    /// <summary>Which workspace and account a Meta phone_number_id belongs to.</summary>
    public async Task<PhoneNumberEntity?> FindByPhoneNumberIdAsync(string phoneNumberId, CancellationToken cancellationToken = default)
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
    public async Task<ProviderAccount> ProviderAccountAsync(WhatsAppAccountEntity account, CancellationToken cancellationToken = default)
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

    /// <summary>
    /// Every other account of the workspace stops being the default. Each through <see cref="ChangeAsync"/>, so an
    /// account changed at the same moment (a new token) is read again and still loses its default: never two.
    /// </summary>
    private async Task ClearOtherDefaultsAsync(TableClient table, string workspaceId, string keep, CancellationToken cancellationToken)
    {
        await foreach (var a in table.QueryAsync<WhatsAppAccountEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (a.RowKey != keep && a.IsDefault)
            {
                await ChangeAsync(workspaceId, a.RowKey, other =>
                {
                    if (!other.IsDefault)
                    {
                        return false;
                    }

                    other.IsDefault = false;
                    return true;
                }, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} has a new access token; it is {Status}")]
    private static partial void LogTokenReplaced(ILogger logger, string accountId, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} reconnected: Meta accepts its stored token again")]
    private static partial void LogReconnected(ILogger logger, string accountId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} still disconnected: Meta {Code} {Title}")]
    private static partial void LogStillDisconnected(ILogger logger, string accountId, int code, string title);

    private static bool IsAccountId(string id) => id == SandboxAccountId || Secrets.IsId(id, "wa_");

    private Task<TableClient> TableAsync(CancellationToken cancellationToken) => storage.GetTableAsync(MessagingNames.Accounts, cancellationToken);
}

/// <summary>POST /accounts.</summary>
public sealed record NewAccount(string Name, string PhoneNumberId, string WabaId, string AccessToken, int? ThroughputMps, bool? IsDefault);

/// <summary>PUT /accounts/{id}: what is not null changes.</summary>
public sealed record AccountChange(string? Name, string? AccessToken, int? ThroughputMps, bool? IsDefault);
