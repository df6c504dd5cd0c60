using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity.Entities;

/// <summary>Table <c>workspaces</c>, row <c>workspace</c> in the workspace's own partition.</summary>
public sealed class WorkspaceEntity : ITableEntity
{
    public const string Row = "workspace";

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = Row;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Name { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }
}
