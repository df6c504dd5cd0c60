using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Results;
using Aisoule.Core.WhatsApp;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Campaigns;

/// <summary>
/// <see cref="SendRules.CheckTemplateAsync"/>, the template check a send and a campaign's creation share: approval,
/// language, and the number and named/positional format of the values, against templates synced from the Graph fake.
/// </summary>
public sealed class CampaignTemplateCheckTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;
    private Sender _sender = null!;
    private WhatsAppAccountEntity _account = null!;

    private SendRules Rules => _host.Services.GetRequiredService<SendRules>();

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _graph.Templates.Add(JsonDocument.Parse(
            """
            {"id":"1101","status":"APPROVED","name":"shipping_update","language":"en_US","category":"UTILITY",
             "components":[{"type":"BODY","text":"Hi {{1}}, order {{2}} has shipped."}]}
            """).RootElement.Clone());
        _host = await TestHost.StartAsync(_graph.Settings());
        _sender = await Sender.CloudAsync(_host);
        _account = (await _host.Services.GetRequiredService<WhatsAppAccountService>().ResolveAsync(_sender.Owner.WorkspaceId, _sender.AccountId)).Value!;
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private Task<Outcome<Core.Templates.TemplateEntity>> CheckAsync(string name, string language, JsonElement? components) =>
        Rules.CheckTemplateAsync(_sender.Owner.WorkspaceId, _account, name, language, components, default);

    [Fact]
    public async Task Approved_template_whose_values_fit_is_returned()
    {
        var positional = await CheckAsync("shipping_update", "en_US", Json("""[{"type":"body","parameters":[{"type":"text","text":"Pablo"},{"type":"text","text":"A-1"}]}]"""));
        var named = await CheckAsync("order_confirmation", "en_US", Json("""[{"type":"body","parameters":[{"type":"text","parameter_name":"order_number","text":"A-1"},{"type":"text","parameter_name":"first_name","text":"Pablo"}]}]"""));

        Assert.Equal("shipping_update", positional.Value?.Name);
        Assert.Equal("order_confirmation", named.Value?.Name);
    }

    [Theory]
    [InlineData("draft", "en_US")]
    [InlineData("no_such_template", "en_US")]
    [InlineData("hello_world", "es")]
    [InlineData("order_confirmation", "en")]
    public async Task Unapproved_unknown_or_other_language_template_is_not_approved(string name, string language)
    {
        var outcome = await CheckAsync(name, language, null);

        Assert.Equal(ErrorCodes.TemplateNotApproved, outcome.Error?.Code);
    }

    [Fact]
    public async Task Name_too_long_for_a_key_is_not_approved_without_asking_storage()
    {
        var outcome = await CheckAsync(new string('n', 2000), "en_US", null);

        Assert.Equal(ErrorCodes.TemplateNotApproved, outcome.Error?.Code);
    }

    [Fact]
    public async Task Wrong_positional_parameter_count_is_a_mismatch_naming_it()
    {
        var outcome = await CheckAsync("shipping_update", "en_US", Json("""[{"type":"body","parameters":[{"type":"text","text":"Pablo"}]}]"""));

        Assert.Equal(ErrorCodes.TemplateParametersMismatch, outcome.Error?.Code);
        Assert.Equal(["body expects 2 parameters, got 1"], outcome.Error!.Errors!["template.components"]);
    }

    [Fact]
    public async Task Values_for_a_template_without_parameters_are_a_mismatch()
    {
        var outcome = await CheckAsync("hello_world", "en_US", Json("""[{"type":"body","parameters":[{"type":"text","text":"extra"}]}]"""));

        Assert.Equal(ErrorCodes.TemplateParametersMismatch, outcome.Error?.Code);
        Assert.Equal(["body expects 0 parameters, got 1"], outcome.Error!.Errors!["template.components"]);
    }

    [Fact]
    public async Task Named_template_given_too_few_or_positional_values_is_a_mismatch()
    {
        var tooFew = await CheckAsync("order_confirmation", "en_US", Json("""[{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Pablo"}]}]"""));
        var positional = await CheckAsync("order_confirmation", "en_US", Json("""[{"type":"body","parameters":[{"type":"text","text":"Pablo"},{"type":"text","text":"A-1"}]}]"""));

        Assert.Equal(ErrorCodes.TemplateParametersMismatch, tooFew.Error?.Code);
        Assert.Equal(["missing body parameter order_number"], tooFew.Error!.Errors!["template.components"]);
        Assert.Equal(ErrorCodes.TemplateParametersMismatch, positional.Error?.Code);
        Assert.Contains("body parameter 1 has no parameter_name (a positional value; this template's parameters are named)", positional.Error!.Errors!["template.components"]);
    }

    [Fact]
    public async Task Positional_values_named_for_a_positional_template_are_a_mismatch()
    {
        var outcome = await CheckAsync("shipping_update", "en_US", Json("""[{"type":"body","parameters":[{"type":"text","parameter_name":"name","text":"Pablo"},{"type":"text","text":"A-1"}]}]"""));

        Assert.Equal(ErrorCodes.TemplateParametersMismatch, outcome.Error?.Code);
        Assert.Contains("body parameter 1 carries parameter_name (this template's parameters are positional)", outcome.Error!.Errors!["template.components"]);
    }

    [Fact]
    public async Task Personalised_components_are_checked_through_their_sample()
    {
        var components = Json(
            """
            [{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"{{contact.name | default: 'there'}}"},
                                          {"type":"text","parameter_name":"order_number","text":"{{contact.custom_fields.order_id}}"}]}]
            """);

        var fits = await CheckAsync("order_confirmation", "en_US", Json(ContactVariables.Sample(components)));
        var tooMany = await CheckAsync("shipping_update", "en_US", Json(ContactVariables.Sample(Json("""[{"type":"body","parameters":[{"type":"text","text":"{{contact.name}}"},{"type":"text","text":"{{contact.phone_number}}"},{"type":"text","text":"x"}]}]"""))));

        Assert.True(fits.Succeeded);
        Assert.Equal(["body expects 2 parameters, got 3"], tooMany.Error!.Errors!["template.components"]);
    }
}
