using System.Globalization;
using System.Security.Cryptography;

namespace Aisoule.Core.Messaging;

/// <summary>Row keys in the <c>messages</c> table (one partition per workspace).</summary>
internal static class MessageKeys
{
    public const string MessagePrefix = "m_";
    public const string ContactPrefix = "k_";
    public const string InboundPrefix = "i_";
    public const string OutboxPrefix = "o_";
    public const string StatusPrefix = "s_";
    public const string CountPrefix = "n_total_";

    /// <summary>The message count is spread over this many rows, so concurrent sends rarely touch the same one.</summary>
    public const int CountShards = 16;
    public const string IdPrefix = "msg_";

    /// <summary>Newest first, on the same scheme as contact ids (see <see cref="Contacts.ContactKeys.NewId"/>).</summary>
    public static string NewId(DateTimeOffset now) => IdPrefix + Contacts.ContactKeys.NewId(now)[Contacts.ContactKeys.IdPrefix.Length..];

    private static readonly System.Buffers.SearchValues<char> Hex = System.Buffers.SearchValues.Create("0123456789abcdef");

    public static bool IsId(string? id) =>
        id is { Length: 28 } && id.StartsWith(IdPrefix, StringComparison.Ordinal) && !id.AsSpan(IdPrefix.Length).ContainsAnyExcept(Hex);

    public static string Message(string id) => MessagePrefix + id;

    public static string ByContact(string contactId, string messageId) => ContactPrefix + contactId + "_" + messageId;

    public static string ContactRange(string contactId) => ContactPrefix + contactId + "_";

    public static string ByStatus(string status, string messageId) => StatusPrefix + status + "_" + messageId;

    public static string StatusRange(string status) => StatusPrefix + status + "_";

    public static string CountShard(int shard) => CountPrefix + shard.ToString("d2", CultureInfo.InvariantCulture);

    public static string Inbound(string wamid) => InboundPrefix + Contacts.ContactKeys.Encode(wamid);

    /// <summary>The outbox row of one status of one wamid: inserting it is what makes an event count once.</summary>
    public static string StatusEvent(string wamid, string status) => OutboxPrefix + Contacts.ContactKeys.Encode(wamid) + "_" + status;

    public static string After(string prefix) => Contacts.ContactKeys.After(prefix);
}
