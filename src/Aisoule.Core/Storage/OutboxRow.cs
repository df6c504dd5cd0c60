using System.Text.Json;
using Aisoule.Core.Json;
using Azure.Data.Tables;

namespace Aisoule.Core.Storage;

/// <summary>
/// An outbox event row (<c>o_…</c>), written in the same transaction as the change it reports, for the outbound
/// webhooks to deliver: the event's name, its data as the API shows it, and when it happened. Its row key says what
/// caused it, so inserting it is what makes the cause count once.
/// </summary>
public static class OutboxRow
{
    public const string Prefix = "o_";

    public static TableEntity Create<T>(string partitionKey, string rowKey, string eventName, T data, DateTimeOffset createdAt) => new(partitionKey, rowKey)
    {
        ["Event"] = eventName,
        ["Data"] = JsonSerializer.Serialize(data, AisouleJson.Options),
        ["CreatedAt"] = createdAt,
    };
}
