using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace Aisoule.Core.Storage;

/// <summary>
/// How the app reaches its storage account, read the way the Functions host reads <c>AzureWebJobsStorage</c>:
/// either a connection string (<c>AzureWebJobsStorage</c> itself, Azurite's by default), or an identity-based
/// connection (<c>AzureWebJobsStorage__accountName</c>, or <c>__tableServiceUri</c> and <c>__queueServiceUri</c>),
/// authenticated with a managed identity when <c>__credential</c> is <c>managedidentity</c> (the user-assigned
/// one named by <c>__clientId</c> or <c>__managedIdentityResourceId</c>, else the system-assigned one) and with
/// <see cref="DefaultAzureCredential"/> otherwise. A connection string wins when both are given, as in the host.
/// </summary>
public sealed partial class StorageConnection
{
    public const string DevelopmentStorage = "UseDevelopmentStorage=true";

    private StorageConnection(string? connectionString, Uri? tableServiceUri, Uri? queueServiceUri, TokenCredential? credential, string description)
    {
        ConnectionString = connectionString;
        TableServiceUri = tableServiceUri;
        QueueServiceUri = queueServiceUri;
        Credential = credential;
        Description = description;
    }

    /// <summary>Set for a connection string; null for an identity-based connection.</summary>
    public string? ConnectionString { get; }

    /// <summary>Set for an identity-based connection.</summary>
    public Uri? TableServiceUri { get; }

    /// <summary>Set for an identity-based connection.</summary>
    public Uri? QueueServiceUri { get; }

    /// <summary>Set for an identity-based connection.</summary>
    public TokenCredential? Credential { get; }

    /// <summary>Where it points and how it authenticates, with no secret in it (for logs and errors).</summary>
    public string Description { get; }

    public bool UsesIdentity => ConnectionString is null;

    public static StorageConnection FromConnectionString(string connectionString) =>
        new(connectionString, null, null, null, "connection string");

    /// <summary>
    /// Reads the connection from configuration: <paramref name="setting"/> and its <c>__</c> sub-settings.
    /// Throws <see cref="InvalidOperationException"/> with a message naming the setting when they do not make one.
    /// </summary>
    public static StorageConnection Parse(IConfiguration configuration, string setting = StorageOptions.ConnectionSetting)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(setting);
        if (section.Value is { Length: > 0 } connectionString)
        {
            return FromConnectionString(connectionString);
        }

        var accountName = Setting(section, "accountName");
        var tableUri = Setting(section, "tableServiceUri");
        var queueUri = Setting(section, "queueServiceUri");
        if (accountName is null && tableUri is null && queueUri is null)
        {
            return FromConnectionString(DevelopmentStorage);
        }

        if (accountName is not null && !AccountName().IsMatch(accountName))
        {
            throw new InvalidOperationException($"{setting}__accountName must be a storage account name: 3 to 24 lowercase letters and digits.");
        }

        var table = ServiceUri(setting, "tableServiceUri", tableUri, accountName, "table");
        var queue = ServiceUri(setting, "queueServiceUri", queueUri, accountName, "queue");
        var (credential, how) = ChooseCredential(section, setting);
        return new StorageConnection(null, table, queue, credential, $"{table.Host} and {queue.Host} with {how}");
    }

    public TableServiceClient CreateTableServiceClient(TableClientOptions options) =>
        ConnectionString is { } connectionString
            ? new TableServiceClient(connectionString, options)
            : new TableServiceClient(TableServiceUri!, Credential!, options);

    public QueueServiceClient CreateQueueServiceClient(QueueClientOptions options) =>
        ConnectionString is { } connectionString
            ? new QueueServiceClient(connectionString, options)
            : new QueueServiceClient(QueueServiceUri!, Credential!, options);

    private static string? Setting(IConfigurationSection section, string name) =>
        section[name] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static Uri ServiceUri(string setting, string name, string? given, string? accountName, string service)
    {
        if (given is null)
        {
            if (accountName is null)
            {
                throw new InvalidOperationException($"{setting}__{name} is required when {setting}__accountName is not set.");
            }

            return new Uri($"https://{accountName}.{service}.core.windows.net");
        }

        // Tokens are only sent over HTTPS (the SDK refuses bearer tokens over plain HTTP).
        if (!Uri.TryCreate(given, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(uri.UserInfo) || uri.Query.Length > 0)
        {
            throw new InvalidOperationException($"{setting}__{name} must be an absolute https URL with no user name or query, such as https://account.{service}.core.windows.net.");
        }

        return uri;
    }

    private static (TokenCredential Credential, string Description) ChooseCredential(IConfigurationSection section, string setting)
    {
        var kind = Setting(section, "credential");
        var clientId = Setting(section, "clientId");
        var resourceId = Setting(section, "managedIdentityResourceId");
        if (clientId is not null && resourceId is not null)
        {
            throw new InvalidOperationException($"Set one of {setting}__clientId and {setting}__managedIdentityResourceId, not both.");
        }

        if (clientId is not null && !Guid.TryParse(clientId, out _))
        {
            throw new InvalidOperationException($"{setting}__clientId must be the managed identity's client id (a GUID).");
        }

        if (resourceId is not null && !resourceId.StartsWith("/subscriptions/", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{setting}__managedIdentityResourceId must be an Azure resource id (/subscriptions/…).");
        }

        if (kind is null)
        {
            var options = new DefaultAzureCredentialOptions();
            if (clientId is not null)
            {
                options.ManagedIdentityClientId = clientId;
            }
            else if (resourceId is not null)
            {
                options.ManagedIdentityResourceId = new ResourceIdentifier(resourceId);
            }

            return (new DefaultAzureCredential(options), "the default Azure credential");
        }

        if (!string.Equals(kind, "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{setting}__credential must be 'managedidentity' or unset (unset: the default Azure credential).");
        }

        var id = clientId is not null ? ManagedIdentityId.FromUserAssignedClientId(clientId)
            : resourceId is not null ? ManagedIdentityId.FromUserAssignedResourceId(new ResourceIdentifier(resourceId))
            : ManagedIdentityId.SystemAssigned;
        var which = clientId is not null ? $"the user-assigned managed identity {clientId}"
            : resourceId is not null ? "the user-assigned managed identity " + resourceId[(resourceId.LastIndexOf('/') + 1)..]
            : "the system-assigned managed identity";
        return (new ManagedIdentityCredential(new ManagedIdentityCredentialOptions(id)), which);
    }

    [GeneratedRegex("^[a-z0-9]{3,24}$")]
    private static partial Regex AccountName();
}
