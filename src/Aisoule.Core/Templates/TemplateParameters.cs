using System.Text.Json;
using System.Text.RegularExpressions;
using Aisoule.Core.WhatsApp;

namespace Aisoule.Core.Templates;

/// <summary>
/// The parameters a template declares and whether a send's <c>template.components</c> fill them: Meta's
/// <c>parameter_format</c> <c>named</c> (<c>{{first_name}}</c>, values carry <c>parameter_name</c>, any order) or
/// <c>positional</c> (<c>{{1}}</c>, <c>{{2}}</c>…, values in order without a name; Meta's default). Only the text
/// parameters of the header (a TEXT header) and the body are checked; buttons, media headers and other components
/// are left to Meta.
/// </summary>
public static partial class TemplateParameters
{
    public const string Named = "named";
    public const string Positional = "positional";

    /// <summary>Meta's <c>parameter_format</c>: named only when it says so; positional when absent (Meta's default).</summary>
    public static string FormatOf(string? parameterFormat) =>
        string.Equals(parameterFormat, Named, StringComparison.OrdinalIgnoreCase) ? Named : Positional;

    /// <summary>
    /// The parameters of each checked component (<c>header</c> when it is a text header, <c>body</c> always): the
    /// names of a named template, from its <c>{{name}}</c> placeholders or else its example's
    /// <c>header_text_named_params</c>/<c>body_text_named_params</c>; <c>"1"</c>, <c>"2"</c>… for a positional one,
    /// from its placeholders or else its example's <c>header_text</c>/<c>body_text</c>.
    /// </summary>
    public static Dictionary<string, List<string>> Declared(string format, string componentsJson)
    {
        var declared = new Dictionary<string, List<string>>(StringComparer.Ordinal) { ["body"] = [] };
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(componentsJson);
        }
        catch (JsonException)
        {
            return declared;
        }

        using var owned = document;
        var components = document.RootElement;

        if (components.ValueKind != JsonValueKind.Array)
        {
            return declared;
        }

        foreach (var component in components.EnumerateArray())
        {
            var type = MetaJson.Text(component, "type").ToLowerInvariant();
            if (type == "header" && MetaJson.Text(component, "format") is { Length: > 0 } headerFormat && !string.Equals(headerFormat, "TEXT", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (type is not ("header" or "body"))
            {
                continue;
            }

            var names = Placeholders().Matches(MetaJson.Text(component, "text")).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();
            if (names.Count == 0)
            {
                names = format == Named ? ExampleNames(component, type + "_text_named_params") : ExampleCount(component, type + "_text");
            }
            else if (format == Positional)
            {
                names = [.. names.OrderBy(n => int.TryParse(n, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : int.MaxValue).ThenBy(n => n, StringComparer.Ordinal)];
            }

            declared[type] = [.. (declared.TryGetValue(type, out var seen) ? seen : []).Concat(names).Distinct(StringComparer.Ordinal)];
        }

        return declared;
    }

    /// <summary>
    /// What is wrong with a send's <paramref name="components"/> for a template of <paramref name="format"/> declaring
    /// <paramref name="declared"/>, one problem per entry; empty when they fit.
    /// </summary>
    public static List<string> Problems(string format, IReadOnlyDictionary<string, List<string>> declared, JsonElement? components)
    {
        ArgumentNullException.ThrowIfNull(declared);
        var problems = new List<string>();
        foreach (var (type, names) in declared)
        {
            var values = Values(components, type);
            if (format == Named)
            {
                var given = new List<string>();
                for (var i = 0; i < values.Count; i++)
                {
                    if (MetaJson.Text(values[i], "parameter_name") is { Length: > 0 } name)
                    {
                        given.Add(name);
                    }
                    else
                    {
                        problems.Add($"{type} parameter {i + 1} has no parameter_name (a positional value; this template's parameters are named)");
                    }
                }

                problems.AddRange(given.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"{type} parameter {g.Key} given {g.Count()} times"));
                problems.AddRange(given.Distinct(StringComparer.Ordinal).Where(n => !names.Contains(n, StringComparer.Ordinal)).Select(n => $"{type} parameter {n} is not one the template declares"));
                var missing = names.Where(n => !given.Contains(n, StringComparer.Ordinal)).ToList();
                if (missing.Count > 0)
                {
                    problems.Add($"missing {type} parameter{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}");
                }
            }
            else
            {
                for (var i = 0; i < values.Count; i++)
                {
                    if (values[i].ValueKind == JsonValueKind.Object && values[i].TryGetProperty("parameter_name", out _))
                    {
                        problems.Add($"{type} parameter {i + 1} carries parameter_name (this template's parameters are positional)");
                    }
                }

                if (values.Count != names.Count)
                {
                    problems.Add($"{type} expects {names.Count} parameter{(names.Count == 1 ? "" : "s")}, got {values.Count}");
                }
            }
        }

        return problems;
    }

    // The parameters a send gives a component type (all its components of that type, in order).
    private static List<JsonElement> Values(JsonElement? components, string type)
    {
        var values = new List<JsonElement>();
        if (components is not { ValueKind: JsonValueKind.Array } array)
        {
            return values;
        }

        foreach (var component in array.EnumerateArray())
        {
            if (string.Equals(MetaJson.Text(component, "type"), type, StringComparison.OrdinalIgnoreCase)
                && component.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Array)
            {
                values.AddRange(parameters.EnumerateArray());
            }
        }

        return values;
    }

    private static List<string> ExampleNames(JsonElement component, string property) =>
        component.TryGetProperty("example", out var example) && example.ValueKind == JsonValueKind.Object
        && example.TryGetProperty(property, out var named) && named.ValueKind == JsonValueKind.Array
            ? [.. named.EnumerateArray().Select(p => MetaJson.Text(p, "param_name")).Where(n => n.Length > 0).Distinct(StringComparer.Ordinal)]
            : [];

    // Positional examples: body_text is [["Pablo","860198-230332"]], header_text is ["Pablo"].
    private static List<string> ExampleCount(JsonElement component, string property)
    {
        if (!component.TryGetProperty("example", out var example) || example.ValueKind != JsonValueKind.Object
            || !example.TryGetProperty(property, out var values) || values.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var row = values.GetArrayLength() > 0 && values[0].ValueKind == JsonValueKind.Array ? values[0] : values;
        return [.. Enumerable.Range(1, row.GetArrayLength()).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")]
    private static partial Regex Placeholders();
}
