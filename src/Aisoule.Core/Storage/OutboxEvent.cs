using System.Text.Json;
using Aisoule.Core.Json;
using Azure.Data.Tables;

namespace Aisoule.Core.Storage;

/// <summary>
/// An outbox event (row <c>o_…</c>), written in the same transaction as the change it reports, for the outbound
/// webhooks to deliver: the event's name, its data as the API shows it (JSON), when it happened, and its row key,
/// which says what caused it, so inserting it is what makes the cause count once. The one way outbox rows are
/// written (<see cref="AddTo"/>) and read back (<see cref="From"/>).
/// </summary>
public sealed record OutboxEvent
{
    public const string Prefix = "o_";

    // The stored columns (the name's predates this type).
    private const string NameColumn = "Event";
    private const string DataColumn = "Data";
    private const string CreatedAtColumn = "CreatedAt";

    /// <summary>
    /// Each event's pending row, <c>oq_{ticks}_{event row key}</c>, written with it and deleted once the webhooks' relay
    /// has taken it: the relay reads a key range, in the order events happened, and never the events already relayed.
    /// </summary>
    public const string PendingPrefix = "oq_";

    private const string EventKeyColumn = "EventKey";

    private OutboxEvent(string partitionKey, string rowKey, string name, string data, DateTimeOffset createdAt)
    {
        PartitionKey = partitionKey;
        RowKey = rowKey;
        Name = name;
        Data = data;
        CreatedAt = createdAt;
    }

    /// <summary>The partition of the change it reports (its workspace's, or its message's).</summary>
    public string PartitionKey { get; }

    /// <summary>What caused it, as a row key starting with <see cref="Prefix"/>: a second insert for one cause fails.</summary>
    public string RowKey { get; }

    /// <summary>The event's name, such as <c>contact.created</c> or <c>message.sent</c>.</summary>
    public string Name { get; }

    /// <summary>The event's data as JSON, as the API shows the resource.</summary>
    public string Data { get; private init; }

    public DateTimeOffset CreatedAt { get; }

    /// <summary>The event for <paramref name="data"/> (serialised as the API writes it), caused by <paramref name="rowKey"/>.</summary>
    public static OutboxEvent Create<T>(string partitionKey, string rowKey, string name, T data, DateTimeOffset createdAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(partitionKey);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (rowKey is null || !rowKey.StartsWith(Prefix, StringComparison.Ordinal) || rowKey.Length == Prefix.Length)
        {
            throw new ArgumentException($"An outbox row key starts with '{Prefix}' and names its cause.", nameof(rowKey));
        }

        return new(partitionKey, rowKey, name, JsonSerializer.Serialize(data, AisouleJson.Options), createdAt);
    }

    /// <summary>The event for data already written as JSON (one that had to be cut to fit, such as an inbound text).</summary>
    public static OutboxEvent CreateWithJson(string partitionKey, string rowKey, string name, string json, DateTimeOffset createdAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(json);
        return Create(partitionKey, rowKey, name, 0, createdAt) with { Data = json };
    }

    /// <summary>An outbox row as stored, for the relay that delivers it.</summary>
    public static OutboxEvent From(TableEntity row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new(row.PartitionKey, row.RowKey, row.GetString(NameColumn) ?? "", row.GetString(DataColumn) ?? "null", row.GetDateTimeOffset(CreatedAtColumn) ?? default);
    }

    /// <summary>Every outbox row of a partition.</summary>
    public static string Filter(string partitionKey) => TableKeys.PrefixFilter(partitionKey, Prefix);

    /// <summary>The pending rows of a partition, oldest first.</summary>
    public static string PendingFilter(string partitionKey) => TableKeys.PrefixFilter(partitionKey, PendingPrefix);

    /// <summary>Pending rows of any partition for events from before <paramref name="before"/>.</summary>
    public static string WaitingFilter(DateTimeOffset before) =>
        TableClient.CreateQueryFilter($"RowKey ge {PendingPrefix} and RowKey lt {PendingPrefix + Ticks(before)}");

    /// <summary>Event rows of any partition from before <paramref name="before"/>: past retention.</summary>
    public static string ExpiredFilter(DateTimeOffset before) =>
        TableClient.CreateQueryFilter($"RowKey ge {Prefix} and RowKey lt {TableKeys.After(Prefix)} and CreatedAt lt {before}");

    /// <summary>The event row a pending row stands for.</summary>
    public static string? EventKeyOf(TableEntity pending) => pending?.GetString(EventKeyColumn);

    /// <summary>
    /// Data of at most this many characters rides in the pending row too, so the relay reads no event row for it (a point
    /// read per event); larger data is read from the event row. It bounds what a pending row adds to its transaction:
    /// under 25 KB on the wire even when every character is escaped.
    /// </summary>
    public const int MaxPendingDataChars = 4096;

    /// <summary>This event's pending row: the event's key, and its name, data and time when the data is small.</summary>
    public TableEntity PendingRow()
    {
        var row = new TableEntity(PartitionKey, PendingPrefix + Ticks(CreatedAt) + "_" + RowKey) { [EventKeyColumn] = RowKey };
        if (Data.Length <= MaxPendingDataChars)
        {
            (row[NameColumn], row[DataColumn], row[CreatedAtColumn]) = (Name, Data, CreatedAt);
        }

        return row;
    }

    /// <summary>The event a pending row carries, or null when its data was too large to ride along (read the event row).</summary>
    public static OutboxEvent? FromPending(TableEntity pending)
    {
        ArgumentNullException.ThrowIfNull(pending);
        return EventKeyOf(pending) is { } key && pending.GetString(NameColumn) is { } name && pending.GetString(DataColumn) is { } data && pending.GetDateTimeOffset(CreatedAtColumn) is { } at
            ? new(pending.PartitionKey, key, name, data, at)
            : null;
    }

    private static string Ticks(DateTimeOffset at) => at.UtcTicks.ToString("d19", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Adds this event's insert and its pending row to <paramref name="transaction"/> (submitted with
    /// <see cref="TableBatch"/>): they land with the change they report or not at all, and the event fails the
    /// transaction (409) if its cause was recorded before.
    /// </summary>
    public void AddTo(ICollection<TableTransactionAction> transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.Add(new(TableTransactionActionType.Add, ToEntity()));
        transaction.Add(new(TableTransactionActionType.Add, PendingRow()));
    }

    /// <summary>The stored row. Callers add events with <see cref="AddTo"/>; this is for transactions still built from entities.</summary>
    internal TableEntity ToEntity() => new(PartitionKey, RowKey)
    {
        [NameColumn] = Name,
        [DataColumn] = Data,
        [CreatedAtColumn] = CreatedAt,
    };
}
