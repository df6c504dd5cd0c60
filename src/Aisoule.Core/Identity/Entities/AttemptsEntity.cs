using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity.Entities;

/// <summary>
/// Tables <c>loginfailures</c> and <c>signupattempts</c>: the recent attempts counted against one key (an email,
/// a client address, hashed, or the whole service).
/// </summary>
public sealed class AttemptsEntity : ITableEntity
{
    public const string Row = "attempts";

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = Row;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    /// <summary>Unix milliseconds of each attempt inside the window, space-separated, oldest first.</summary>
    public string Attempts { get; set; } = "";
}
