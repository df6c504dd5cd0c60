using System.Net;
using System.Text.Json;
using Aisoule.Core.Templates;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// Templates with named parameters (Meta's <c>parameter_format: "named"</c>) and positional ones: what a sync keeps,
/// what <c>GET /templates</c> shows, and sends whose values do not fit refused at request time instead of by Meta later.
/// </summary>
public sealed class NamedTemplateTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _host = await TestHost.StartAsync(_graph.Settings());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task Synced_templates_show_their_parameter_format_and_declared_parameters()
    {
        var sender = await Sender.CloudAsync(_host);

        var templates = (await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"))).GetProperty("templates").EnumerateArray().ToList();

        var named = templates.Single(t => t.GetProperty("name").GetString() == "order_confirmation");
        Assert.Equal("named", named.GetProperty("parameter_format").GetString());
        Assert.Equal(["first_name", "order_number"], named.GetProperty("parameters").GetProperty("body").EnumerateArray().Select(n => n.GetString()));
        var hello = templates.Single(t => t.GetProperty("name").GetString() == "hello_world");
        Assert.Equal("positional", hello.GetProperty("parameter_format").GetString());
        Assert.Equal(0, hello.GetProperty("parameters").GetProperty("body").GetArrayLength());
        Assert.Contains(_graph.TemplateListRequests, r => r.Contains("parameter_format", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Named_template_values_in_any_order_reach_meta_with_their_parameter_name()
    {
        var sender = await Sender.CloudAsync(_host);

        var id = await Sender.AcceptedIdAsync(await sender.SendAsync(OrderConfirmation(Sender.NewPhone(), ("order_number", "SKBUP2-4CPIG9"), ("first_name", "Jessica"))));

        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        var call = Assert.Single(_graph.Sends, s => s.Body.GetProperty("biz_opaque_callback_data").GetString()!.EndsWith(id, StringComparison.Ordinal));
        var parameters = call.Body.GetProperty("template").GetProperty("components")[0].GetProperty("parameters");
        Assert.Equal("order_number", parameters[0].GetProperty("parameter_name").GetString());
        Assert.Equal("SKBUP2-4CPIG9", parameters[0].GetProperty("text").GetString());
        Assert.Equal("first_name", parameters[1].GetProperty("parameter_name").GetString());
        Assert.Equal("Jessica", parameters[1].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Named_template_sent_positional_values_is_422_and_nothing_is_stored_or_sent()
    {
        var sender = await Sender.CloudAsync(_host);

        var response = await sender.SendAsync(OrderConfirmation(Sender.NewPhone(), (null, "Jessica"), (null, "SKBUP2-4CPIG9")));

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        Assert.Contains("body parameter 1 has no parameter_name", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("missing body parameters first_name, order_number", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.NotEmpty(error.GetProperty("errors").GetProperty("template.components").EnumerateArray());
        Assert.Equal(0, (await Envelope.SuccessAsync(await sender.Api.GetAsync("messages"))).GetProperty("total").GetInt32());
        Assert.Empty(_graph.Sends);
    }

    [Fact]
    public async Task Named_template_missing_a_declared_name_or_given_an_unknown_one_is_422_naming_them()
    {
        var sender = await Sender.CloudAsync(_host);

        var missing = await Envelope.ErrorAsync(await sender.SendAsync(OrderConfirmation(Sender.NewPhone(), ("first_name", "Jessica"))), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        var unknown = await Envelope.ErrorAsync(
            await sender.SendAsync(OrderConfirmation(Sender.NewPhone(), ("first_name", "Jessica"), ("order_number", "1"), ("coupon", "X"))), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        var mixed = await Envelope.ErrorAsync(await sender.SendAsync(OrderConfirmation(Sender.NewPhone(), ("first_name", "Jessica"), (null, "1"))), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");

        var odd = await Envelope.ErrorAsync(
            await sender.Api.PostJsonAsync("messages/send", $$$"""{"to":"{{{Sender.NewPhone()}}}","type":"template","template":{"name":"order_confirmation","language":"en_US","components":[{"type":"body","parameters":[5,null,{"parameter_name":7}]},"body",{"type":{}}]}}"""),
            HttpStatusCode.UnprocessableEntity,
            "template_parameters_mismatch");

        Assert.Contains("missing body parameter order_number", missing.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("body parameter 3 has no parameter_name", odd.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("body parameter coupon is not one the template declares", unknown.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("body parameter 2 has no parameter_name", mixed.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_graph.Sends);
    }

    [Fact]
    public async Task Positional_template_refuses_a_parameter_name_and_a_wrong_count_and_takes_the_right_count()
    {
        await using var host = await TestHost.StartAsync();
        var sender = await Sender.SandboxAsync(host);

        var named = await Envelope.ErrorAsync(await sender.SendAsync(Template("order_update", Sender.NewPhone(), ("name", "Ada"), (null, "A-1"))), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        var three = await Envelope.ErrorAsync(await sender.SendAsync(Template("order_update", Sender.NewPhone(), (null, "Ada"), (null, "A-1"), (null, "extra"))), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        var none = await Envelope.ErrorAsync(await sender.SendTemplateAsync(Sender.NewPhone(), "order_update"), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        var right = await sender.SendAsync(Template("order_update", Sender.NewPhone(), (null, "Ada"), (null, "A-1")));

        Assert.Contains("body parameter 1 carries parameter_name", named.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("body expects 2 parameters, got 3", three.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("body expects 2 parameters, got 0", none.GetProperty("message").GetString(), StringComparison.Ordinal);
        await Sender.AcceptedIdAsync(right);
        await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
    }

    [Fact]
    public async Task The_sandbox_has_a_named_template_that_sends()
    {
        await using var host = await TestHost.StartAsync();
        var sender = await Sender.SandboxAsync(host);
        var templates = (await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"))).GetProperty("templates").EnumerateArray();
        Assert.Equal("named", templates.Single(t => t.GetProperty("name").GetString() == "order_confirmation").GetProperty("parameter_format").GetString());

        var id = await Sender.AcceptedIdAsync(await sender.SendAsync(OrderConfirmation(Sender.NewPhone(), ("first_name", "Jessica"), ("order_number", "SKBUP2-4CPIG9"))));

        await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "delivered", "read"), "sent");
    }

    [Fact]
    public void Declared_parameters_come_from_placeholders_or_else_the_example_and_skip_media_headers()
    {
        const string Components = """
            [{"type":"HEADER","format":"TEXT","text":"Hi {{customer}}"},
             {"type":"BODY","example":{"body_text_named_params":[{"param_name":"order_number","example":"1"}]}},
             {"type":"BUTTONS","buttons":[{"type":"URL","url":"https://x.test/{{1}}"}]}]
            """;

        var named = TemplateParameters.Declared(TemplateParameters.Named, Components);
        var positional = TemplateParameters.Declared(TemplateParameters.Positional, """[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"{{2}} then {{1}}"}]""");
        var fromExample = TemplateParameters.Declared(TemplateParameters.Positional, """[{"type":"BODY","example":{"body_text":[["Pablo","860198"]]}}]""");

        Assert.Equal(["customer"], named["header"]);
        Assert.Equal(["order_number"], named["body"]);
        Assert.False(positional.ContainsKey("header"));
        Assert.Equal(["1", "2"], positional["body"]);
        Assert.Equal(["1", "2"], fromExample["body"]);
        Assert.Equal(TemplateParameters.Positional, TemplateParameters.FormatOf(null));
    }

    private static Dictionary<string, object> OrderConfirmation(string to, params (string? Name, string Text)[] values) => Template("order_confirmation", to, values);

    private static Dictionary<string, object> Template(string name, string to, params (string? Name, string Text)[] values) => new()
    {
        ["to"] = to,
        ["type"] = "template",
        ["template"] = new Dictionary<string, object>
        {
            ["name"] = name,
            ["language"] = "en_US",
            ["components"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["type"] = "body",
                    ["parameters"] = values.Select(v => v.Name is null
                        ? new Dictionary<string, string> { ["type"] = "text", ["text"] = v.Text }
                        : new Dictionary<string, string> { ["type"] = "text", ["parameter_name"] = v.Name, ["text"] = v.Text }).ToArray(),
                },
            },
        },
    };
}
