using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Aisoule.Core.Contacts;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// Personalisation of a campaign's <c>template.components</c> (Meta's components array, as a send gives it): a
/// parameter's <c>text</c> (any component) and a button parameter's <c>payload</c> may contain
/// <c>{{contact.name}}</c>, <c>{{contact.phone_number}}</c> or <c>{{contact.custom_fields.KEY}}</c>, each with an
/// optional default, <c>{{contact.name | default: "there"}}</c> (double or single quotes, no escapes inside),
/// mixed with literal text. Braces that do not start with <c>contact</c> (<c>{{1}}</c>, <c>{{ foo }}</c>) are
/// literal text; anything else that starts with <c>contact</c> is a problem, so a typo is refused at creation
/// rather than sent as it is. KEY is a custom field's key exactly as the contact stores it (case-sensitive, 1 to
/// <see cref="ContactLimits.MaxCustomFieldNameLength"/> characters; spaces and dots inside are fine, a key with
/// <c>|</c> or <c>}}</c> in it cannot be named); a string value is used as it is, a number or boolean as its JSON
/// text. A value that is missing (null, empty or whitespace only) and has no usable default is never sent as a
/// blank: <see cref="Resolve"/> names it instead.
/// </summary>
public static class ContactVariables
{
    /// <summary>The longest expression, its default not counted (<c>{{</c>, the field and <c>}}</c>).</summary>
    public const int MaxExpressionChars = 300;

    /// <summary>The longest default.</summary>
    public const int MaxDefaultChars = 1024;

    /// <summary>What <see cref="Sample"/> puts in place of every expression.</summary>
    public const string SampleValue = "sample";

    private const string Keyword = "contact";
    private const string CustomFieldsPrefix = "custom_fields.";

    // Like AisouleJson's: readable text, quotes, backslashes and control characters still escaped.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// One readable problem per invalid expression, each prefixed with where it is
    /// (<c>template.components[0].parameters[1].text</c>), and one per other string holding a <c>{{contact…}}</c>
    /// that would not be replaced (a media link, a component's own text); empty when every expression is valid.
    /// </summary>
    public static IReadOnlyList<string> Problems(JsonElement components)
    {
        if (!IsReadable(components))
        {
            return ["template.components: text that is not valid UTF-16 (an unpaired surrogate such as \\ud800)"];
        }

        var problems = new List<string>();
        var slots = new HashSet<string>(StringComparer.Ordinal);
        foreach (var slot in Slots(components))
        {
            slots.Add(slot.Path);
            problems.AddRange(Scan(slot.Text).Where(e => e.Problem is not null).Select(e => $"{slot.Path}: {e.Problem}"));
        }

        // Anywhere else (a media link, a currency's fallback, a component's own text) it would reach Meta as written.
        problems.AddRange(Strings(components, "template.components")
            .Where(s => !slots.Contains(s.Path) && Scan(s.Text).Any())
            .Select(s => $"{s.Path}: {{{{contact.…}}}} is only replaced in a parameter's text or a button parameter's payload"));
        return problems;
    }

    /// <summary>Whether any parameter's text or button parameter's payload holds an expression at all (valid or not).</summary>
    public static bool Uses(JsonElement components) => IsReadable(components) && Slots(components).Any(slot => Scan(slot.Text).Any());

    /// <summary>
    /// The components with every expression replaced by the contact's value, exactly as stored (not trimmed), or by
    /// its default when the value is missing; or, when a value is missing and there is no usable default (a default
    /// that is empty or whitespace only is none), no components and the field that was missing
    /// (<c>name</c>, <c>phone_number</c>, <c>custom_fields.order_id</c>; the first one, in document order).
    /// Everything else is kept as it was, in order (as compact JSON when anything was replaced, else the text as it came). Call it only on components <see cref="Problems"/> found nothing wrong with.
    /// </summary>
    /// <exception cref="ArgumentException">The components hold an invalid expression or text.</exception>
    public static Resolution Resolve(JsonElement components, ContactEntity contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        if (!IsReadable(components))
        {
            throw new ArgumentException($"The components hold text that is not valid UTF-16 (check them with {nameof(Problems)} first).", nameof(components));
        }

        JsonElement? customFields = null;
        string? missing = null;
        var json = Rewrite(components, (path, expression) =>
        {
            if (expression.Problem is not null)
            {
                throw new ArgumentException($"{path}: {expression.Problem} (check the components with {nameof(Problems)} first).", nameof(components));
            }

            var value = expression.Field switch
            {
                "name" => contact.Name,
                "phone_number" => contact.PhoneNumber,
                _ => CustomField(customFields ??= ParseCustomFields(contact.CustomFieldsJson), expression.Field![CustomFieldsPrefix.Length..]),
            };
            if (!string.IsNullOrWhiteSpace(value))
            {
                return value;
            }

            if (!string.IsNullOrWhiteSpace(expression.Default))
            {
                return expression.Default;
            }

            missing ??= expression.Field;
            return null;
        });
        return missing is null ? new Resolution(json, null) : new Resolution(null, missing);
    }

    /// <summary>
    /// The components with every expression replaced by <see cref="SampleValue"/>, to check their parameter count and
    /// format against the template before any contact is known. An invalid expression is left as it is.
    /// </summary>
    public static string Sample(JsonElement components) =>
        IsReadable(components) ? Rewrite(components, (_, expression) => expression.Problem is null ? SampleValue : expression.Source)! : components.GetRawText();

    // The strings that may hold expressions: each parameter's text, and a button parameter's payload.
    private static IEnumerable<Slot> Slots(JsonElement components)
    {
        if (components.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        var c = 0;
        foreach (var component in components.EnumerateArray())
        {
            if (component.ValueKind == JsonValueKind.Object && component.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Array)
            {
                var isButton = component.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && string.Equals(type.GetString(), "button", StringComparison.OrdinalIgnoreCase);
                var p = 0;
                foreach (var parameter in parameters.EnumerateArray())
                {
                    if (parameter.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var property in parameter.EnumerateObject())
                        {
                            if (IsSlot(property, isButton))
                            {
                                yield return new Slot(c, p, property.Name, $"template.components[{c}].parameters[{p}].{property.Name}", property.Value.GetString()!);
                            }
                        }
                    }

                    p++;
                }
            }

            c++;
        }
    }

    // Every string value under an element, with its path.
    private static IEnumerable<(string Path, string Text)> Strings(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                yield return (path, element.GetString()!);
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var found in Strings(item, $"{path}[{i++}]"))
                    {
                        yield return found;
                    }
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    foreach (var found in Strings(property.Value, $"{path}.{property.Name}"))
                    {
                        yield return found;
                    }
                }

                break;
        }
    }

    // Whether every name and string can be read as .NET text: JSON may escape a lone surrogate ("\ud800"), which
    // System.Text.Json refuses to read (and to look a property up past). Everything else here assumes it can.
    private static bool IsReadable(JsonElement element)
    {
        try
        {
            return Readable(element);
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        static bool Readable(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.String => element.GetString() is not null,
            JsonValueKind.Array => element.EnumerateArray().All(Readable),
            JsonValueKind.Object => element.EnumerateObject().All(p => p.Name is not null && Readable(p.Value)),
            _ => true,
        };
    }

    private static bool IsSlot(JsonProperty property, bool isButton) =>
        property.Value.ValueKind == JsonValueKind.String && (property.NameEquals("text") || (isButton && property.NameEquals("payload")));

    // The components as JSON with each slot's expressions replaced by what `replace` gives, or null as soon as it gives
    // null. Slots without an expression, and everything that is not a slot, are written exactly as they came.
    private static string? Rewrite(JsonElement components, Func<string, Expression, string?> replace)
    {
        var replaced = new Dictionary<(int Component, int Parameter, string Property), string>();
        foreach (var slot in Slots(components))
        {
            var expressions = Scan(slot.Text).ToList();
            if (expressions.Count == 0)
            {
                continue;
            }

            var text = new StringBuilder(slot.Text.Length);
            var at = 0;
            foreach (var expression in expressions)
            {
                if (replace(slot.Path, expression) is not { } value)
                {
                    return null;
                }

                text.Append(slot.Text, at, expression.Start - at).Append(value);
                at = expression.Start + expression.Source.Length;
            }

            replaced[(slot.Component, slot.Parameter, slot.Property)] = text.Append(slot.Text, at, slot.Text.Length - at).ToString();
        }

        if (replaced.Count == 0)
        {
            return components.GetRawText();
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartArray();
            var c = 0;
            foreach (var component in components.EnumerateArray())
            {
                WriteComponent(writer, component, c++, replaced);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteComponent(Utf8JsonWriter writer, JsonElement component, int c, Dictionary<(int Component, int Parameter, string Property), string> replaced)
    {
        if (component.ValueKind != JsonValueKind.Object)
        {
            component.WriteTo(writer);
            return;
        }

        writer.WriteStartObject();
        foreach (var property in component.EnumerateObject())
        {
            if (!property.NameEquals("parameters") || property.Value.ValueKind != JsonValueKind.Array)
            {
                property.WriteTo(writer);
                continue;
            }

            writer.WritePropertyName(property.Name);
            writer.WriteStartArray();
            var p = 0;
            foreach (var parameter in property.Value.EnumerateArray())
            {
                if (parameter.ValueKind != JsonValueKind.Object)
                {
                    parameter.WriteTo(writer);
                }
                else
                {
                    writer.WriteStartObject();
                    foreach (var field in parameter.EnumerateObject())
                    {
                        if (replaced.TryGetValue((c, p, field.Name), out var text) && field.Value.ValueKind == JsonValueKind.String)
                        {
                            writer.WriteString(field.Name, text);
                        }
                        else
                        {
                            field.WriteTo(writer);
                        }
                    }

                    writer.WriteEndObject();
                }

                p++;
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    // Every `{{contact…}}` in a text, in order. `{{` not followed (after whitespace) by the word "contact" is literal.
    private static IEnumerable<Expression> Scan(string text)
    {
        var i = 0;
        while ((i = text.IndexOf("{{", i, StringComparison.Ordinal)) >= 0)
        {
            var p = SkipSpace(text, i + 2);
            if (!StartsWithKeyword(text, p))
            {
                i++;
                continue;
            }

            var expression = Parse(text, i, p + Keyword.Length);
            yield return expression;
            i += expression.Source.Length;
        }
    }

    private static bool StartsWithKeyword(string text, int p)
    {
        if (string.Compare(text, p, Keyword, 0, Keyword.Length, StringComparison.OrdinalIgnoreCase) != 0)
        {
            return false;
        }

        var next = p + Keyword.Length;
        return next == text.Length || text[next] is '.' or '|' or '}' || char.IsWhiteSpace(text[next]);
    }

    // One expression from its `{{` at `start`; `p` is just past the word "contact".
    private static Expression Parse(string text, int start, int p)
    {
        var referenceEnd = IndexOfAny(text, p, "|", "}}");
        if (referenceEnd < 0)
        {
            return Invalid(text, start, text.Length, "an expression starting with {{contact is not closed with }}");
        }

        var reference = text[p..referenceEnd].Trim();
        string? defaultValue = null;
        int end;
        if (text[referenceEnd] == '|')
        {
            if (!TryParseDefault(text, referenceEnd + 1, out defaultValue, out end))
            {
                var close = text.IndexOf("}}", referenceEnd, StringComparison.Ordinal);
                return Invalid(text, start, close < 0 ? text.Length : close + 2, "write a default as | default: \"text\" (in double or single quotes)");
            }
        }
        else
        {
            end = referenceEnd + 2;
        }

        var source = text[start..end];
        var field = reference.StartsWith('.') ? reference[1..].Trim() : null;
        string? problem = null;
        if (field is not ("name" or "phone_number") && !(field?.StartsWith(CustomFieldsPrefix, StringComparison.Ordinal) ?? false))
        {
            problem = field switch
            {
                null => "write a field as {{contact.FIELD}}; use name, phone_number or custom_fields.KEY",
                "custom_fields" => "custom_fields needs a key: {{contact.custom_fields.KEY}}",
                _ => $"unknown contact field '{field}'; use name, phone_number or custom_fields.KEY",
            };
        }
        else if (field.StartsWith(CustomFieldsPrefix, StringComparison.Ordinal)
            && field.Length - CustomFieldsPrefix.Length is < 1 or > ContactLimits.MaxCustomFieldNameLength)
        {
            problem = $"a custom field key is 1 to {ContactLimits.MaxCustomFieldNameLength} characters";
        }
        else if (source.Length - (defaultValue?.Length ?? 0) > MaxExpressionChars)
        {
            problem = $"an expression is at most {MaxExpressionChars} characters, its default not counted";
        }
        else if (defaultValue?.Length > MaxDefaultChars)
        {
            problem = $"a default is at most {MaxDefaultChars.ToString("N0", CultureInfo.InvariantCulture)} characters";
        }

        return new Expression(start, source, problem is null ? field : null, defaultValue, problem);
    }

    // `default: "text"` or `default: 'text'` then `}}`, from just past the `|`.
    private static bool TryParseDefault(string text, int p, out string? value, out int end)
    {
        value = null;
        end = -1;
        p = SkipSpace(text, p);
        if (string.Compare(text, p, "default", 0, 7, StringComparison.Ordinal) != 0)
        {
            return false;
        }

        p = SkipSpace(text, p + 7);
        if (p >= text.Length || text[p] != ':')
        {
            return false;
        }

        p = SkipSpace(text, p + 1);
        if (p >= text.Length || text[p] is not ('"' or '\''))
        {
            return false;
        }

        var close = text.IndexOf(text[p], p + 1);
        if (close < 0)
        {
            return false;
        }

        var after = SkipSpace(text, close + 1);
        if (string.Compare(text, after, "}}", 0, 2, StringComparison.Ordinal) != 0)
        {
            return false;
        }

        value = text[(p + 1)..close];
        end = after + 2;
        return true;
    }

    private static Expression Invalid(string text, int start, int end, string problem) => new(start, text[start..end], null, null, problem);

    private static int SkipSpace(string text, int p)
    {
        while (p < text.Length && char.IsWhiteSpace(text[p]))
        {
            p++;
        }

        return p;
    }

    private static int IndexOfAny(string text, int from, string a, string b)
    {
        var i = text.IndexOf(a, from, StringComparison.Ordinal);
        var j = text.IndexOf(b, from, StringComparison.Ordinal);
        return i < 0 ? j : j < 0 ? i : Math.Min(i, j);
    }

    private static JsonElement ParseCustomFields(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(string.IsNullOrEmpty(json) ? "{}" : json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return default;
        }
    }

    // A string as it is; a number or boolean as its JSON text; null, absent, unreadable or anything else is missing.
    private static string? CustomField(JsonElement fields, string key)
    {
        try
        {
            return fields.ValueKind == JsonValueKind.Object && fields.TryGetProperty(key, out var value)
                ? value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
                    _ => null,
                }
                : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private sealed record Slot(int Component, int Parameter, string Property, string Path, string Text);

    // `Field` is null when the expression is invalid (`Problem` says why); `Source` is its text as written.
    private sealed record Expression(int Start, string Source, string? Field, string? Default, string? Problem);
}

/// <summary>
/// What <see cref="ContactVariables.Resolve"/> made of a campaign's components for one contact: the components to send
/// (<see cref="MissingVariable"/> null), or null and the field whose value was missing with no default.
/// </summary>
public sealed record Resolution(string? ComponentsJson, string? MissingVariable);
