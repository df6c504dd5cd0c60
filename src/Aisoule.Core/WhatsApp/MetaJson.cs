using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Aisoule.Core.WhatsApp;

/// <summary>Reading Meta's JSON bodies (Graph API answers, webhook changes), which may omit any field.</summary>
internal static class MetaJson
{
    /// <summary>
    /// A string property of an object, or "" when the element is not an object or the property is absent or not a string.
    /// Never throws: text that is not valid UTF-16 (a lone surrogate such as <c>"\ud800"</c>, which is valid JSON)
    /// has each broken code unit replaced by U+FFFD, so the rest of the event is still applied.
    /// </summary>
    public static string Text(JsonElement element, string property)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(property, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return "";
        }

        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return Repaired(Unescaped(value.GetRawText()));
        }
    }

    /// <summary>
    /// Valid JSON with each escaped surrogate pair (<c>\uD83D\uDE00</c>, 12 characters) written as the pair itself
    /// (2 characters, 4 UTF-8 bytes): the same JSON value, without the growth that makes an emoji cost 12 in storage
    /// and in a queue message. Escapes are read left to right, so an escaped backslash followed by "u" is never taken
    /// for an escape; a lone surrogate stays escaped.
    /// </summary>
    public static string UnescapedPairs(string json)
    {
        if (!json.Contains("\\u", StringComparison.OrdinalIgnoreCase))
        {
            return json;
        }

        var builder = new StringBuilder(json.Length);
        for (var i = 0; i < json.Length; i++)
        {
            if (json[i] != '\\' || i + 1 >= json.Length)
            {
                builder.Append(json[i]);
                continue;
            }

            if (json[i + 1] == 'u' && i + 12 <= json.Length && json[i + 6] == '\\' && json[i + 7] == 'u'
                && ushort.TryParse(json.AsSpan(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var high) && char.IsHighSurrogate((char)high)
                && ushort.TryParse(json.AsSpan(i + 8, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var low) && char.IsLowSurrogate((char)low))
            {
                builder.Append((char)high).Append((char)low);
                i += 11;
                continue;
            }

            builder.Append(json[i]).Append(json[i + 1]);
            i++;
        }

        return builder.ToString();
    }

    // The raw JSON string (quotes included, already validated by the parser) with its escapes decoded, surrogates and all.
    private static string Unescaped(string raw)
    {
        var builder = new StringBuilder(raw.Length);
        for (var i = 1; i < raw.Length - 1; i++)
        {
            if (raw[i] != '\\' || i + 1 >= raw.Length - 1)
            {
                builder.Append(raw[i]);
                continue;
            }

            var escape = raw[++i];
            switch (escape)
            {
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'u' when i + 4 < raw.Length && int.TryParse(raw.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var unit):
                    builder.Append((char)unit);
                    i += 4;
                    break;
                default: builder.Append(escape); break;
            }
        }

        return builder.ToString();
    }

    // Each code unit that is not part of a well-formed surrogate pair becomes U+FFFD.
    private static string Repaired(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }
}
