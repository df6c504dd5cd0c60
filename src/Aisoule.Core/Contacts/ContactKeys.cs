using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Row keys in a workspace's partition of the <c>contacts</c> table. Every row of a workspace — contacts, the
/// phone and WhatsApp user id pointers, the name/username/tag/stage index rows, exact counters and outbox events — shares the partition, so one entity
/// group transaction keeps a contact, its indexes, the totals and its event consistent.
/// </summary>
internal static class ContactKeys
{
    public const string ContactPrefix = "c_";
    public const string PhonePrefix = "p_";
    public const string UserPrefix = "w_";
    public const string UsernamePrefix = "u_";
    public const string NamePrefix = "n_";
    public const string TagPrefix = "t_";
    public const string StagePrefix = "s_";
    public const string ForwardPrefix = "f_";
    public const string CounterPrefix = "m_";
    public const string OutboxPrefix = Storage.OutboxEvent.Prefix;
    public const string IdPrefix = "ct_";

    // Separates an index value from the contact id it points at; never produced by Encode.
    private const char Separator = TableKeys.Separator;

    /// <summary>Characters of a contact id (<c>ct_</c> + 24 hex digits).</summary>
    public const int IdLength = 27;

    /// <summary>
    /// The most of an encoded name a name index key holds: what fits in Table Storage's key limit beside the prefix,
    /// the separator and the id (482). Every name that fitted before keeps exactly its old key; a longer one (a
    /// 200-character name can encode to 1,000) keeps its first whole characters that fit, and a search that long is
    /// narrowed by the real name (<see cref="IsNameCut"/>).
    /// </summary>
    public const int MaxNameKeyChars = Storage.StoredSize.MaxKeyChars - 2 - 1 - IdLength;

    /// <summary>Ids sort newest first: 16 hex digits of (max − now) then 8 random hex digits.</summary>
    public static string NewId(DateTimeOffset now) =>
        IdPrefix + (DateTimeOffset.MaxValue.Ticks - now.UtcTicks).ToString("x16", CultureInfo.InvariantCulture)
        + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public static bool IsId(string? id) =>
        Identity.Secrets.IsId(id, IdPrefix, hexDigits: 24);

    public static string Contact(string id) => ContactPrefix + id;

    public static string Phone(string e164) => PhonePrefix + e164;

    /// <summary>The forward row of a contact merged into another: its id → the contact that absorbed it.</summary>
    public static string Forward(string id) => ForwardPrefix + id;

    /// <summary>The pointer row of a WhatsApp user id (BSUID); the id is letters, digits and dots, safe in a key as it is.</summary>
    public static string User(string waUserId) => UserPrefix + waUserId;

    /// <summary>The username index row: lower-cased, without Meta's leading <c>@</c>, so <c>pablo</c> and <c>@Pablo</c> both find <c>@pablomorales</c>.</summary>
    public static string Username(string username, string id) => UsernamePrefix + Encode(BareUsername(username)) + Separator + id;

    /// <summary>Every username index row whose username starts with <paramref name="prefix"/> (an <c>@</c> before it ignored).</summary>
    public static string UsernameRange(string prefix) => UsernamePrefix + Encode(BareUsername(prefix));

    public static string Name(string name, string id) => NamePrefix + EncodedName(name) + Separator + id;

    public static string Tag(string tag, string id) => TagPrefix + Encode(tag.ToLowerInvariant()) + Separator + id;

    public static string Stage(string stage, string id) => StagePrefix + Encode(stage.ToLowerInvariant()) + Separator + id;

    /// <summary>The counters (each kept in <see cref="CounterShards"/>: each name, a prefix ending in the separator, plus a shard number is a row).</summary>
    public static string TotalCounter => CounterPrefix + "total" + Separator;

    public static string TagCounter(string tag) => CounterPrefix + TagPrefix + Encode(tag.ToLowerInvariant()) + Separator;

    public static string StageCounter(string stage) => CounterPrefix + StagePrefix + Encode(stage.ToLowerInvariant()) + Separator;

    /// <summary>All tag (or stage) index rows of one value: its prefix up to and including the separator.</summary>
    public static string TagRange(string tag) => TagPrefix + Encode(tag.ToLowerInvariant()) + Separator;

    public static string StageRange(string stage) => StagePrefix + Encode(stage.ToLowerInvariant()) + Separator;

    /// <summary>
    /// Every name index row whose name may start with <paramref name="namePrefix"/>: exactly those, unless
    /// <see cref="IsNameCut"/>, when the range also holds names that only share its indexed part.
    /// </summary>
    public static string NameRange(string namePrefix) => NamePrefix + EncodedName(namePrefix);

    /// <summary>Is this (search) text longer than a name index key holds, so that matches must be checked on the real name?</summary>
    public static bool IsNameCut(string name) => EncodedName(name).Length < Encode(name.ToLowerInvariant()).Length;

    /// <summary>The contact id at the end of an index row key.</summary>
    public static string IdOf(string indexRowKey) => indexRowKey[(indexRowKey.LastIndexOf(Separator) + 1)..];

    /// <summary>
    /// The lower-cased name, encoded, cut to the longest run of whole characters (a surrogate pair is one) whose
    /// encoding fits <see cref="MaxNameKeyChars"/>. Encoding is per character, so when a search is a prefix of a name
    /// and its encoding fits, it is also a prefix of the name's cut key: prefix search stays exact up to the bound.
    /// </summary>
    private static string EncodedName(string name)
    {
        var lower = name.ToLowerInvariant();
        var builder = new StringBuilder(Math.Min(lower.Length, MaxNameKeyChars));
        for (var i = 0; i < lower.Length;)
        {
            var width = char.IsHighSurrogate(lower[i]) && i + 1 < lower.Length && char.IsLowSurrogate(lower[i + 1]) ? 2 : 1;
            var encoded = Encode(lower.Substring(i, width));
            if (builder.Length + encoded.Length > MaxNameKeyChars)
            {
                break;
            }

            builder.Append(encoded);
            i += width;
        }

        return builder.ToString();
    }

    private static string BareUsername(string username) => username.Trim().TrimStart('@').ToLowerInvariant();

    /// <summary>Any text made safe inside a row key, prefixes kept as prefixes (<see cref="TableKeys.Encode"/>).</summary>
    public static string Encode(string text) => TableKeys.Encode(text);
}
