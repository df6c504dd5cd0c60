using System.Globalization;
using System.Text;
using Azure.Data.Tables;

namespace Aisoule.Core.Storage;

/// <summary>
/// Key encoding and prefix ranges shared by every table: any text made safe inside a key with its prefixes kept as
/// prefixes, and the query for all rows of a partition whose row key starts with a prefix.
/// </summary>
public static class TableKeys
{
    /// <summary>The separator our composite keys use between their parts; always escaped inside a part.</summary>
    public const char Separator = '|';

    /// <summary>
    /// Makes any text safe inside a row key and keeps prefixes as prefixes: the characters Table Storage forbids
    /// in keys (and our own separator and escape) become <c>~xxxx</c>.
    /// </summary>
    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
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

    /// <summary>The smallest string greater than every string that starts with <paramref name="prefix"/>.</summary>
    public static string After(string prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        return prefix[..^1] + (char)(prefix[^1] + 1);
    }

    /// <summary>
    /// Every row of <paramref name="partition"/> whose row key starts with <paramref name="prefix"/>; with
    /// <paramref name="after"/> (a page's last key), only those whose key comes after it.
    /// </summary>
    public static string PrefixFilter(string partition, string prefix, string? after = null) =>
        after is null || string.CompareOrdinal(after, prefix) < 0
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {prefix} and RowKey lt {After(prefix)}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {after} and RowKey lt {After(prefix)}");
}
