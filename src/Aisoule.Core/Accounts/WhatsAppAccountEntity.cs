using Aisoule.Core.WhatsApp;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Accounts;

/// <summary>Table <c>waaccounts</c>: one WhatsApp number of a workspace, in the workspace's partition.</summary>
public sealed class WhatsAppAccountEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    /// <summary>The account id (<c>wa_…</c>).</summary>
    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Name { get; set; } = "";

    public string PhoneNumber { get; set; } = "";

    public string PhoneNumberId { get; set; } = "";

    public string WabaId { get; set; } = "";

    /// <summary><see cref="AccountStatus"/>.</summary>
    public string Status { get; set; } = AccountStatus.Connected;

    public string? StatusReason { get; set; }

    public int ThroughputMps { get; set; } = 80;

    public bool IsDefault { get; set; }

    /// <summary><c>sandbox</c> or <c>cloud</c>.</summary>
    public string Provider { get; set; } = WhatsAppOptions.Sandbox;

    /// <summary>Name of the access token in the secret store; never the token.</summary>
    public string? TokenSecretName { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public string Id => RowKey;
}

/// <summary>Table <c>waphonenumbers</c>: which workspace and account a Meta <c>phone_number_id</c> belongs to.</summary>
public sealed class PhoneNumberEntity : ITableEntity
{
    /// <summary>Meta's phone_number_id.</summary>
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string WorkspaceId { get; set; } = "";

    public string AccountId { get; set; } = "";
}

/// <summary>What an account can do.</summary>
public static class AccountStatus
{
    public const string Connected = "connected";

    /// <summary>Meta refused the account (token, restriction): sends wait until it is connected again.</summary>
    public const string Disconnected = "disconnected";

    /// <summary>Removed by the workspace (DELETE /accounts/{id}): its sends fail.</summary>
    public const string Removed = "removed";
}

/// <summary>An account as the API shows it; never a token.</summary>
public sealed record AccountView(string Id, string Name, string PhoneNumber, string PhoneNumberId, string WabaId, string Status, int ThroughputMps, bool IsDefault)
{
    public static AccountView From(WhatsAppAccountEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.RowKey, e.Name, e.PhoneNumber, e.PhoneNumberId, e.WabaId, e.Status, e.ThroughputMps, e.IsDefault);
    }
}
