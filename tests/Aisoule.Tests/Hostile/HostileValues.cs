using System.Globalization;
using System.Text;

namespace Aisoule.Tests.Hostile;

/// <summary>One generated JSON value: its name in reports, its JSON text, and whether a correct API may accept it.</summary>
internal sealed record HostileValue(string Name, string Json, bool MayBeValid);

/// <summary>
/// The generated values, by the declared type of the field they go into. What a field must refuse (a wrong type,
/// past its declared length, nesting past the parser's depth) is marked so; odd but legal text (emoji, control
/// characters, lone surrogates, key-escaping characters) may be accepted, but never with a 5xx.
/// </summary>
internal static class HostileValues
{
    public const int Deep = 10_000;
    public const int ManyElements = 10_000;

    /// <summary>Every character the key encoding escapes, and the control characters.</summary>
    public const string KeyEscaping = "/\\#?~|\u0001\u001f\u007f";

    public static readonly string PastLong = "92233720368547758080";

    /// <summary>A JSON string with only what JSON requires escaped: emoji and other text stay raw, as most clients send them.</summary>
    public static string Quote(string text)
    {
        var builder = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            _ = c switch
            {
                '"' => builder.Append("\\\""),
                '\\' => builder.Append("\\\\"),
                < ' ' => builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => builder.Append(c),
            };
        }

        return builder.Append('"').ToString();
    }

    public static string DeepArray(int depth = Deep) => new string('[', depth) + new string(']', depth);

    public static string DeepObject(int depth = Deep)
    {
        var builder = new StringBuilder(depth * 6);
        for (var i = 0; i < depth; i++)
        {
            builder.Append("{\"a\":");
        }

        builder.Append('1').Append('}', depth);
        return builder.ToString();
    }

    public static string ManyArray(string element, int count = ManyElements) => "[" + string.Join(',', Enumerable.Repeat(element, count)) + "]";

    /// <summary>Values of the wrong type for a field of <paramref name="kind"/>, plus structure no field takes.</summary>
    private static IEnumerable<HostileValue> Structural(FieldKind kind)
    {
        yield return new("10,000 levels of nested arrays", DeepArray(), false);
        yield return new("10,000 levels of nested objects", DeepObject(), false);
        if (kind != FieldKind.Any)
        {
            yield return new("number past 2^63", PastLong, false);
            yield return new("negative number past 2^63", "-" + PastLong, false);
            yield return new("1e400", "1e400", false);
            yield return new("object", "{\"a\":1}", false);
            yield return new("10,000-element array", ManyArray("\"a\""), false);
        }

        if (kind is not (FieldKind.Any or FieldKind.StringList))
        {
            yield return new("empty array", "[]", false);
        }

        if (kind is not (FieldKind.Any or FieldKind.Bool))
        {
            yield return new("true", "true", false);
        }

        if (kind is not (FieldKind.Any or FieldKind.Number))
        {
            yield return new("number", "12", false);
            yield return new("fraction", "1.5", false);
        }

        yield return new("null", "null", true);
    }

    public static IEnumerable<HostileValue> For(FieldKind kind, int maxLength)
    {
        foreach (var value in Structural(kind))
        {
            yield return value;
        }

        switch (kind)
        {
            case FieldKind.String:
                foreach (var value in Texts(maxLength))
                {
                    yield return value;
                }

                break;
            case FieldKind.StringList:
                yield return new("10,000 strings", ManyArray("\"a\""), false);
                yield return new("a number among strings", "[\"a\",1]", false);
                yield return new("nested list", "[[\"a\"]]", false);
                yield return new("string instead of a list", "\"a\"", false);
                foreach (var text in Texts(50).Where(t => t.MayBeValid))
                {
                    yield return new("[" + text.Name + "]", "[" + text.Json + "]", true);
                }

                break;
            case FieldKind.Number:
                yield return new("string number", "\"1\"", false);
                yield return new("2^31", "2147483648", false);
                yield return new("-1", "-1", false);
                yield return new("0", "0", true);
                break;
            case FieldKind.Bool:
                yield return new("string true", "\"true\"", false);
                yield return new("1", "1", false);
                break;
            case FieldKind.Timestamp:
                yield return new("not a date", "\"not a date\"", false);
                yield return new("month 13", "\"2026-13-45T00:00:00Z\"", false);
                yield return new("NUL", "\"\\u0000\"", false);
                yield return new("year 9999", "\"9999-12-31T23:59:59Z\"", true);
                yield return new("year 1", "\"0001-01-01T00:00:00Z\"", true);
                yield return new("offset +14:00", "\"2030-01-01T00:00:00+14:00\"", true);
                break;
            case FieldKind.Any:
                foreach (var value in Texts(1000))
                {
                    yield return value with { MayBeValid = true };
                }

                yield return new("number past 2^63", PastLong, true);
                yield return new("10,000-element array", ManyArray("{\"type\":\"body\"}"), true);
                yield return new("object of hostile keys", "{" + string.Join(',', Texts(50).Where(t => t.MayBeValid).Select((t, i) => t.Json + ":" + i.ToString(CultureInfo.InvariantCulture))) + "}", true);
                yield return new("object with 8,000 emoji", "{\"note\":" + Quote(string.Concat(Enumerable.Repeat("😀", 8000))) + "}", true);
                yield return new("object with 200 fields", "{" + string.Join(',', Enumerable.Range(0, 200).Select(i => $"\"f{i}\":{i}")) + "}", true);
                yield return new("component with 40,000-character text", "[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":" + Quote(new string('x', 40_000)) + "}]}]", true);
                yield return new("nested 60 levels", DeepObject(60), true);
                break;
        }
    }

    /// <summary>Text values for a string field declared at most <paramref name="maxLength"/> characters.</summary>
    public static IEnumerable<HostileValue> Texts(int maxLength)
    {
        yield return new("empty string", "\"\"", true);
        yield return new("blank", "\"   \"", true);
        yield return new($"{maxLength + 1} characters (one past the limit)", Quote(new string('a', maxLength + 1)), false);
        yield return new("100,000 characters", Quote(new string('a', 100_000)), false);
        yield return new("control characters", "\"a\\u0001\\u0007\\u001b\\u001fb\"", true);
        yield return new("NUL", "\"a\\u0000b\"", true);
        yield return new("%00", "\"a%00b\"", true);
        yield return new("lone high surrogate", "\"a\\ud800b\"", true);
        yield return new("lone low surrogate", "\"\\udc00\"", true);
        yield return new("reversed surrogate pair", "\"\\ude00\\ud83d\"", true);
        yield return new("emoji", Quote("😀👍🏽👨‍👩‍👧"), true);
        yield return new($"{maxLength} characters of emoji", Quote(string.Concat(Enumerable.Repeat("😀", Math.Max(1, maxLength / 2)))), true);
        yield return new("key-escaping characters", Quote(KeyEscaping), true);
        yield return new($"{maxLength} '#'", Quote(new string('#', maxLength)), true);
        yield return new($"{maxLength} key-escaping characters", Quote(string.Concat(Enumerable.Repeat(KeyEscaping, (maxLength / KeyEscaping.Length) + 1))[..maxLength]), true);
        yield return new("right-to-left override and zero-width", "\"\\u202e\\u200b\\ufeffa\"", true);
        yield return new("OData filter injection", Quote("' or PartitionKey ne '' or '"), true);
    }
}

/// <summary>What JSON a field takes, from its declared CLR type.</summary>
internal enum FieldKind
{
    String,
    StringList,
    Number,
    Bool,
    Timestamp,
    Any,
}
