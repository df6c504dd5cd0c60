using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Row keys in a workspace's partition of the <c>contacts</c> table. Every row of a workspace — contacts, the
/// phone/name/tag/stage index rows, exact counters and outbox events — shares the partition, so one entity
/// group transaction keeps a contact, its indexes, the totals and its event consistent.
/// </summary>
internal static class ContactKeys
{
    public const string ContactPrefix = "c_";
    public const string PhonePrefix = "p_";
    public const string NamePrefix = "n_";
    public const string TagPrefix = "t_";
    public const string StagePrefix = "s_";
    public const string CounterPrefix = "m_";
    public const string OutboxPrefix = "o_";
    public const string IdPrefix = "ct_";

    // Separates an index value from the contact id it points at; never produced by Encode.
    private const char Separator = '|';

    /// <summary>Ids sort newest first: 16 hex digits of (max − now) then 8 random hex digits.</summary>
    public static string NewId(DateTimeOffset now) =>
        IdPrefix + (DateTimeOffset.MaxValue.Ticks - now.UtcTicks).ToString("x16", CultureInfo.InvariantCulture)
        + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public static bool IsId(string? id) =>
        Identity.Secrets.IsId(id, IdPrefix, hexDigits: 24);

    public static string Contact(string id) => ContactPrefix + id;

    public static string Phone(string e164) => PhonePrefix + e164;

    public static string Name(string name, string id) => NamePrefix + Encode(name.ToLowerInvariant()) + Separator + id;

    public static string Tag(string tag, string id) => TagPrefix + Encode(tag.ToLowerInvariant()) + Separator + id;

    public static string Stage(string stage, string id) => StagePrefix + Encode(stage.ToLowerInvariant()) + Separator + id;

    public static string TotalCounter => CounterPrefix + "total";

    public static string TagCounter(string tag) => CounterPrefix + TagPrefix + Encode(tag.ToLowerInvariant());

    public static string StageCounter(string stage) => CounterPrefix + StagePrefix + Encode(stage.ToLowerInvariant());

    /// <summary>All tag (or stage) index rows of one value: its prefix up to and including the separator.</summary>
    public static string TagRange(string tag) => TagPrefix + Encode(tag.ToLowerInvariant()) + Separator;

    public static string StageRange(string stage) => StagePrefix + Encode(stage.ToLowerInvariant()) + Separator;

    public static string NameRange(string namePrefix) => NamePrefix + Encode(namePrefix.ToLowerInvariant());

    /// <summary>The contact id at the end of an index row key.</summary>
    public static string IdOf(string indexRowKey) => indexRowKey[(indexRowKey.LastIndexOf(Separator) + 1)..];

    /// <summary>The smallest string greater than every string that starts with <paramref name="prefix"/>.</summary>
    public static string After(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);

    /// <summary>
    /// Makes any text safe inside a row key and keeps prefixes as prefixes: the characters Table Storage forbids
    /// in keys (and our own separator and escape) become <c>~xxxx</c>.
    /// </summary>
    public static string Encode(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '/' or '\\' or '#' or '?' or '~' or Separator || char.IsControl(c))
            {
                builder.Append('~').Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
