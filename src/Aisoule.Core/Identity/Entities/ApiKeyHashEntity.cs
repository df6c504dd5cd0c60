using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity.Entities;

/// <summary>
/// Table <c>apikeyhashes</c>: partition = SHA-256 of a key, pointing at the key's row in its workspace. Written
/// once and never changed, so an instance may cache it; the key's state is always read fresh.
/// </summary>
public sealed class ApiKeyHashEntity : ITableEntity
{
    public const string Row = "key";

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = Row;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string WorkspaceId { get; set; } = "";

    public string KeyId { get; set; } = "";
}
