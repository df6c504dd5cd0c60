using System.Text.Json;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Contacts;
using Xunit;

namespace Aisoule.Tests.Campaigns;

/// <summary>
/// A campaign's template parameters personalised per contact: <c>{{contact.name}}</c>, <c>{{contact.phone_number}}</c>,
/// <c>{{contact.custom_fields.KEY}}</c> with optional defaults, checked before creation and never resolved to a blank.
/// </summary>
public sealed class ContactVariablesTests
{
    private static readonly ContactEntity Pablo = new()
    {
        Id = "c1",
        Name = "Pablo",
        PhoneNumber = "+14155550123",
        CustomFieldsJson = """{"order_id":"SKBUP2-4CPIG9","points":1500,"ratio":0.50,"vip":true,"blank":"  ","gone":null,"order id":"spaced","a.b":"dotted"}""",
    };

    private static JsonElement Components(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static JsonElement Body(params string[] texts) =>
        Components(JsonSerializer.Serialize(new[] { new { type = "body", parameters = texts.Select(t => new { type = "text", text = t }).ToArray() } }));

    private static List<string> ResolvedTexts(Resolution resolution) =>
        [.. JsonDocument.Parse(resolution.ComponentsJson!).RootElement[0].GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("text").GetString()!)];

    [Fact]
    public void Name_phone_and_custom_fields_resolve_to_the_contacts_exact_values()
    {
        var resolution = ContactVariables.Resolve(Body("{{contact.name}}", "{{ contact.phone_number }}", "{{contact.custom_fields.order_id}}"), Pablo);

        Assert.Null(resolution.MissingVariable);
        Assert.Equal(["Pablo", "+14155550123", "SKBUP2-4CPIG9"], ResolvedTexts(resolution));
    }

    [Fact]
    public void Text_mixing_literals_and_several_expressions_resolves_each()
    {
        var resolution = ContactVariables.Resolve(Body("Hi {{contact.name | default: 'friend'}}, order {{contact.custom_fields.order_id}}!"), Pablo);

        Assert.Equal(["Hi Pablo, order SKBUP2-4CPIG9!"], ResolvedTexts(resolution));
    }

    [Fact]
    public void Values_are_not_trimmed()
    {
        var contact = Pablo.Clone();
        contact.Name = " Pablo  ";

        Assert.Equal(["[ Pablo  ]"], ResolvedTexts(ContactVariables.Resolve(Body("[{{contact.name}}]"), contact)));
    }

    [Fact]
    public void Non_string_custom_fields_render_as_their_json_text()
    {
        var resolution = ContactVariables.Resolve(Body("{{contact.custom_fields.points}}", "{{contact.custom_fields.ratio}}", "{{contact.custom_fields.vip}}"), Pablo);

        Assert.Equal(["1500", "0.50", "true"], ResolvedTexts(resolution));
    }

    [Fact]
    public void Custom_field_keys_with_spaces_or_dots_resolve()
    {
        var resolution = ContactVariables.Resolve(Body("{{ contact.custom_fields.order id }}", "{{contact.custom_fields.a.b}}"), Pablo);

        Assert.Equal(["spaced", "dotted"], ResolvedTexts(resolution));
    }

    [Fact]
    public void Missing_custom_field_without_default_names_the_variable()
    {
        var resolution = ContactVariables.Resolve(Body("{{contact.name}}", "Order {{contact.custom_fields.order_number}}"), Pablo);

        Assert.Null(resolution.ComponentsJson);
        Assert.Equal("custom_fields.order_number", resolution.MissingVariable);
    }

    [Theory]
    [InlineData("{{contact.custom_fields.blank}}", "custom_fields.blank")]
    [InlineData("{{contact.custom_fields.gone}}", "custom_fields.gone")]
    [InlineData("{{contact.name | default: \"\"}}", "name")]
    [InlineData("{{contact.name | default: '   '}}", "name")]
    [InlineData("{{contact.phone_number}}", "phone_number")]
    public void Null_empty_or_blank_values_and_blank_defaults_count_as_missing(string text, string variable)
    {
        var contact = Pablo.Clone();
        contact.Name = "   ";
        contact.PhoneNumber = null;

        var resolution = ContactVariables.Resolve(Body(text), contact);

        Assert.Null(resolution.ComponentsJson);
        Assert.Equal(variable, resolution.MissingVariable);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" \t ")]
    public void Default_fills_a_blank_name(string? name)
    {
        var contact = Pablo.Clone();
        contact.Name = name;

        var resolution = ContactVariables.Resolve(Body("Hi {{contact.name | default: \"there\"}}", "{{contact.name|default:'friend'}}"), contact);

        Assert.Null(resolution.MissingVariable);
        Assert.Equal(["Hi there", "friend"], ResolvedTexts(resolution));
    }

    [Fact]
    public void Default_fills_a_missing_custom_field_and_may_hold_braces_and_the_other_quote()
    {
        var resolution = ContactVariables.Resolve(Body("{{contact.custom_fields.coupon | default: \"it's }} | free\" }}"), Pablo);

        Assert.Equal(["it's }} | free"], ResolvedTexts(resolution));
    }

    [Fact]
    public void Resolved_text_is_json_escaped()
    {
        var contact = Pablo.Clone();
        contact.Name = "Pa\"b\\lo\n</script> é 😀";

        var resolution = ContactVariables.Resolve(Body("{{contact.name}}"), contact);

        Assert.Equal([contact.Name], ResolvedTexts(resolution));
        Assert.Contains("\\\"", resolution.ComponentsJson!, StringComparison.Ordinal);
    }

    [Fact]
    public void Everything_but_the_expressions_is_preserved_in_order()
    {
        var components = Components(
            """
            [{"type":"header","parameters":[{"type":"image","image":{"link":"https://x.test/{{contact.name}}.png"}}]},
             {"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"{{contact.name}}"},
                                          {"type":"currency","currency":{"fallback_value":"$1.00","code":"USD","amount_1000":1000}},
                                          {"type":"text","text":"{{1}}"}]},
             {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"stop-{{contact.custom_fields.order_id}}"}]},
             {"type":"footer","text":"{{contact.name}} untouched: not a parameter"}]
            """);

        var resolution = ContactVariables.Resolve(components, Pablo);

        var expected = Components(components.GetRawText()
            .Replace("\"text\":\"{{contact.name}}\"", "\"text\":\"Pablo\"", StringComparison.Ordinal)
            .Replace("stop-{{contact.custom_fields.order_id}}", "stop-SKBUP2-4CPIG9", StringComparison.Ordinal));
        Assert.Equal(JsonSerializer.Serialize(expected), JsonSerializer.Serialize(Components(resolution.ComponentsJson!)));
        Assert.Contains("\"amount_1000\":1000", resolution.ComponentsJson, StringComparison.Ordinal);
    }

    [Fact]
    public void Components_without_expressions_come_back_unchanged()
    {
        var components = Components("""[{"type":"body","parameters":[{"type":"text","text":"Hello {{1}}"}]}]""");

        Assert.False(ContactVariables.Uses(components));
        Assert.Empty(ContactVariables.Problems(components));
        Assert.Equal(components.GetRawText(), ContactVariables.Resolve(components, Pablo).ComponentsJson);
        Assert.Equal(components.GetRawText(), ContactVariables.Sample(components));
    }

    [Theory]
    [InlineData("{{1}}")]
    [InlineData("{{ foo }}")]
    [InlineData("{{contacts}}")]
    [InlineData("{{ first_name }}")]
    [InlineData("{{contactless.name}}")]
    [InlineData("{{")]
    [InlineData("}} {{contact_name}}")]
    public void Non_expression_braces_are_left_alone(string text)
    {
        var components = Body(text);

        Assert.False(ContactVariables.Uses(components));
        Assert.Empty(ContactVariables.Problems(components));
        Assert.Equal([text], ResolvedTexts(ContactVariables.Resolve(components, Pablo)));
    }

    [Fact]
    public void Unknown_contact_field_is_a_problem()
    {
        var problems = ContactVariables.Problems(Body("Hi {{contact.name}}", "{{contact.email}}"));

        Assert.Equal(["template.components[0].parameters[1].text: unknown contact field 'email'; use name, phone_number or custom_fields.KEY"], problems);
    }

    [Theory]
    [InlineData("{{contact.Name}}", "unknown contact field 'Name'")]
    [InlineData("{{Contact.email}}", "unknown contact field 'email'")]
    [InlineData("{{contact}}", "write a field as {{contact.FIELD}}")]
    [InlineData("{{contact name}}", "write a field as {{contact.FIELD}}")]
    [InlineData("{{contact.}}", "unknown contact field ''")]
    [InlineData("{{contact.custom_fields}}", "custom_fields needs a key")]
    [InlineData("{{contact.custom_fields.}}", "a custom field key is 1 to 50 characters")]
    [InlineData("{{contact.name | default: there}}", "write a default as | default: \"text\"")]
    [InlineData("{{contact.name | default: \"there'}}", "write a default as")]
    [InlineData("{{contact.name | fallback: 'x'}}", "write a default as")]
    [InlineData("{{contact.name | default: 'x' | upper}}", "write a default as")]
    [InlineData("Hi {{contact.name", "is not closed with }}")]
    [InlineData("Hi {{contact.name}", "is not closed with }}")]
    public void Malformed_contact_expressions_are_problems(string text, string problem)
    {
        var components = Body(text);

        var found = Assert.Single(ContactVariables.Problems(components));
        Assert.StartsWith("template.components[0].parameters[0].text: ", found, StringComparison.Ordinal);
        Assert.Contains(problem, found, StringComparison.Ordinal);
        Assert.True(ContactVariables.Uses(components));
        Assert.Throws<ArgumentException>(() => ContactVariables.Resolve(components, Pablo));
    }

    [Fact]
    public void Custom_field_key_longer_than_contacts_allow_is_a_problem()
    {
        Assert.Empty(ContactVariables.Problems(Body($"{{{{contact.custom_fields.{new string('k', ContactLimits.MaxCustomFieldNameLength)}}}}}")));
        Assert.Contains("1 to 50 characters", Assert.Single(ContactVariables.Problems(Body($"{{{{contact.custom_fields.{new string('k', 51)}}}}}"))), StringComparison.Ordinal);
    }

    [Fact]
    public void Expression_over_300_characters_or_default_over_1024_is_a_problem()
    {
        var padding = new string(' ', ContactVariables.MaxExpressionChars - "{{contact.name}}".Length);
        var longest = "{{contact.name" + padding + "}}";
        var longestDefault = new string('d', ContactVariables.MaxDefaultChars);

        Assert.Empty(ContactVariables.Problems(Body(longest, $"{{{{contact.name | default: '{longestDefault}'}}}}")));
        var problems = ContactVariables.Problems(Body(longest.Replace("}}", " }}", StringComparison.Ordinal), $"{{{{contact.name | default: '{longestDefault}d'}}}}"));
        Assert.Equal(2, problems.Count);
        Assert.Contains("at most 300 characters", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("template.components[0].parameters[1].text: a default is at most 1,024 characters", problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Button_payload_is_checked_and_its_path_named()
    {
        var components = Components("""[{"type":"body","parameters":[]},{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"{{contact.email}}"}]}]""");

        Assert.True(ContactVariables.Uses(components));
        Assert.StartsWith("template.components[1].parameters[0].payload: unknown contact field 'email'", Assert.Single(ContactVariables.Problems(components)), StringComparison.Ordinal);
    }

    [Fact]
    public void Expression_where_it_would_not_be_replaced_is_a_problem()
    {
        var components = Components(
            """
            [{"type":"header","parameters":[{"type":"image","image":{"link":"https://x.test/{{contact.name}}.png"}}]},
             {"type":"body","text":"{{contact.name}}","parameters":[{"type":"payload","payload":"{{ contact.name }}"},{"type":"text","text":"{{1}}","note":["{{contact.x}}"]}]}]
            """);

        Assert.False(ContactVariables.Uses(components));
        Assert.Equal(
            [
                "template.components[0].parameters[0].image.link: {{contact.…}} is only replaced in a parameter's text or a button parameter's payload",
                "template.components[1].text: {{contact.…}} is only replaced in a parameter's text or a button parameter's payload",
                "template.components[1].parameters[0].payload: {{contact.…}} is only replaced in a parameter's text or a button parameter's payload",
                "template.components[1].parameters[1].note[0]: {{contact.…}} is only replaced in a parameter's text or a button parameter's payload",
            ],
            ContactVariables.Problems(components));
    }

    [Fact]
    public void Several_problems_in_one_text_are_each_named()
    {
        Assert.Equal(2, ContactVariables.Problems(Body("{{contact.email}} and {{contact.name | default: nope}} but {{contact.name}}")).Count);
    }

    [Fact]
    public void Sample_gives_every_expression_a_non_empty_value_and_keeps_the_shape()
    {
        var components = Components("""[{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"{{contact.name}}"},{"type":"text","parameter_name":"order_number","text":"#{{contact.custom_fields.order_id | default: 'x'}}"}]}]""");

        Assert.True(ContactVariables.Uses(components));
        var sample = JsonDocument.Parse(ContactVariables.Sample(components)).RootElement;

        var parameters = sample[0].GetProperty("parameters");
        Assert.Equal("sample", parameters[0].GetProperty("text").GetString());
        Assert.Equal("first_name", parameters[0].GetProperty("parameter_name").GetString());
        Assert.Equal("#sample", parameters[1].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("\"text\"")]
    [InlineData("[1, \"x\", {\"type\":\"body\",\"parameters\":{\"type\":\"text\"}}, {\"type\":\"body\",\"parameters\":[null, 3, {\"text\":5}]}]")]
    public void Components_of_another_shape_have_no_expressions_and_pass_through(string json)
    {
        var components = Components(json);

        Assert.False(ContactVariables.Uses(components));
        Assert.Empty(ContactVariables.Problems(components));
        Assert.Equal(components.GetRawText(), ContactVariables.Resolve(components, Pablo).ComponentsJson);
        Assert.Equal(components.GetRawText(), ContactVariables.Sample(components));
    }

    [Theory]
    [InlineData("""[{"type":"body","parameters":[{"type":"text","text":"\ud800 {{contact.name}}"}]}]""")]
    [InlineData("""[{"type":"body","parameters":[{"type":"text","text":"{{contact.name}}","\udc00":"x"}]}]""")]
    [InlineData("""[{"type":"header","parameters":[]},{"\udc00":1,"type":"button","parameters":[{"payload":"{{contact.name}}"}]}]""")]
    public void Unpaired_surrogate_anywhere_is_one_problem_not_an_exception(string json)
    {
        var components = Components(json);

        Assert.Equal(["template.components: text that is not valid UTF-16 (an unpaired surrogate such as \\ud800)"], ContactVariables.Problems(components));
        Assert.False(ContactVariables.Uses(components));
        Assert.Equal(components.GetRawText(), ContactVariables.Sample(components));
        Assert.Throws<ArgumentException>(() => ContactVariables.Resolve(components, Pablo));
    }

    [Fact]
    public void Unreadable_custom_field_counts_as_missing()
    {
        var contact = Pablo.Clone();
        contact.CustomFieldsJson = """{"order_id":"\ud800","\udc00":"x"}""";

        Assert.Equal("custom_fields.order_id", ContactVariables.Resolve(Body("{{contact.custom_fields.order_id}}"), contact).MissingVariable);
    }

    [Fact]
    public void Expressions_in_a_contacts_value_are_not_resolved_again()
    {
        var contact = Pablo.Clone();
        contact.Name = "{{contact.phone_number}}";

        Assert.Equal(["{{contact.phone_number}}"], ResolvedTexts(ContactVariables.Resolve(Body("{{contact.name}}"), contact)));
    }
}
