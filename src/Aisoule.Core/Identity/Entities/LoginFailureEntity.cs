using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Identity.Entities;

/// <summary>Table <c>loginfailures</c>: recent failed logins for one email or one client address (hashed).</summary>
public sealed class LoginFailureEntity : ITableEntity
{
    public const string Row = "failures";

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = Row;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    /// <summary>Unix milliseconds of each failure inside the window, space-separated, oldest first.</summary>
    public string Failures { get; set; } = "";
}
