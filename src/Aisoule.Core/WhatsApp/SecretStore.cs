using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;

namespace Aisoule.Core.WhatsApp;

/// <summary>
/// Where secrets such as Meta access tokens live: Azure Key Vault in the cloud (<c>KeyVault:Uri</c> set), local
/// settings on a developer's machine. Names are letters, digits and dashes (Key Vault's rule).
/// </summary>
public interface ISecretStore
{
    Task<string?> GetAsync(string name, CancellationToken cancellationToken = default);

    Task SetAsync(string name, string value, CancellationToken cancellationToken = default);
}

/// <summary>Key Vault, through the managed identity (DefaultAzureCredential).</summary>
public sealed class KeyVaultSecretStore(SecretClient client) : ISecretStore
{
    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await client.GetSecretAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false)).Value.Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task SetAsync(string name, string value, CancellationToken cancellationToken = default) =>
        await client.SetSecretAsync(name, value, cancellationToken).ConfigureAwait(false);
}

/// <summary>
/// Development: a secret comes from local settings (<c>Secrets:{name}</c> in <c>local.settings.json</c> or the
/// environment) when set there, else from the local storage account's <c>secrets</c> table, where secrets added
/// at run time (POST /accounts) are kept. Never used when Key Vault is configured.
/// </summary>
public sealed class LocalSecretStore(IConfiguration configuration, StorageAccount storage) : ISecretStore
{
    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        if (configuration["Secrets:" + name] is { Length: > 0 } configured)
        {
            return configured;
        }

        var table = await storage.GetTableAsync(MessagingNames.Secrets, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(name, "", cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value!.GetString("Value") : null;
    }

    public async Task SetAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        var table = await storage.GetTableAsync(MessagingNames.Secrets, cancellationToken).ConfigureAwait(false);
        await table.UpsertEntityAsync(new TableEntity(name, "") { ["Value"] = value }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }
}
