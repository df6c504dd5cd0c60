using System.Globalization;
using System.Security.Cryptography;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Messaging.Messages;

/// <summary>
/// Keys in the <c>messages</c> table. A workspace's sent messages are spread over <see cref="Partitions"/>
/// partitions, <c>{workspace}|{last hex digit of the id}</c>: each holds its messages with their index rows, count
/// rows and status events, so a message's every change is still one transaction, while one campaign's writes are
/// spread over many partitions (Azure serves each partition up to about 2,000 entities a second, and the emulator's
/// point reads cost time in proportion to the partition). Inbound rows stay in the partition <c>{workspace}</c>.
/// </summary>
internal static class MessageKeys
{
    public const int Partitions = 16;
    private const char PartitionSeparator = '|';

    public const string MessagePrefix = "m_";
    public const string ContactPrefix = "k_";
    public const string InboundPrefix = "i_";
    public const string OutboxPrefix = Storage.OutboxEvent.Prefix;
    public const string StatusPrefix = "s_";
    public const string CountPrefix = "n_total_";

    /// <summary>Each partition's share of the message count is spread over this many rows (<see cref="Storage.CounterShards"/>), 64 a workspace, so concurrent sends rarely touch the same one.</summary>
    public const int CountShards = 4;
    public const string IdPrefix = "msg_";

    /// <summary>Newest first, on the same scheme as contact ids (see <see cref="Contacts.ContactKeys.NewId"/>).</summary>
    public static string NewId(DateTimeOffset now) => IdPrefix + Contacts.ContactKeys.NewId(now)[Contacts.ContactKeys.IdPrefix.Length..];

    /// <summary>A fresh <see cref="MessageEntity.WriteId"/>: 96 random bits, so no two writes share one.</summary>
    public static string NewWriteId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static readonly System.Buffers.SearchValues<char> Hex = System.Buffers.SearchValues.Create("0123456789abcdef");

    public static bool IsId(string? id) =>
        id is { Length: 28 } && id.StartsWith(IdPrefix, StringComparison.Ordinal) && !id.AsSpan(IdPrefix.Length).ContainsAnyExcept(Hex);

    /// <summary>The partition of a message: its id ends in a random hex digit.</summary>
    public static string Partition(string workspaceId, string messageId) => workspaceId + PartitionSeparator + messageId[^1];

    /// <summary>Every message partition of a workspace.</summary>
    public static IEnumerable<string> AllPartitions(string workspaceId) =>
        Enumerable.Range(0, Partitions).Select(i => workspaceId + PartitionSeparator + i.ToString("x", CultureInfo.InvariantCulture));

    public static string WorkspaceOf(string partitionKey)
    {
        var separator = partitionKey.LastIndexOf(PartitionSeparator);
        return separator < 0 ? partitionKey : partitionKey[..separator];
    }

    public static string Message(string id) => MessagePrefix + id;

    public static string ByContact(string contactId, string messageId) => ContactPrefix + contactId + "_" + messageId;

    public static string ContactRange(string contactId) => ContactPrefix + contactId + "_";

    public static string ByStatus(string status, string messageId) => StatusPrefix + status + "_" + messageId;

    public static string StatusRange(string status) => StatusPrefix + status + "_";

    public static string CountShard(int shard) => CountPrefix + shard.ToString("d2", CultureInfo.InvariantCulture);

    public static string Inbound(string wamid) => InboundPrefix + TableKeys.Encode(wamid);

    /// <summary>The outbox row of one status of one wamid: inserting it is what makes an event count once.</summary>
    public static string StatusEvent(string wamid, string status) => OutboxPrefix + TableKeys.Encode(wamid) + "_" + status;
}
