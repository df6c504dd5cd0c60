using System.Net;
using Aisoule.Core.WhatsApp;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>Template sync against a Graph fake that pages its template list as Meta does.</summary>
public sealed class TemplatePagingTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _graph.Templates.Clear();
        _graph.Templates.AddRange(Enumerable.Range(0, 250).Select(i => (object)new
        {
            id = (5000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture),
            name = $"t_{i:D3}",
            language = "en_US",
            category = "UTILITY",
            status = "APPROVED",
            components = new object[] { new { type = "BODY", text = "Hello" } },
        }));
        _host = await TestHost.StartAsync(_graph.Settings());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task A_waba_with_250_templates_has_all_of_them_synced_and_one_from_the_last_page_sends()
    {
        var sender = await Sender.CloudAsync(_host);

        var templates = await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"));

        Assert.Equal(250, templates.GetProperty("templates").GetArrayLength());
        Assert.True(_graph.TemplateListRequests.Count >= 3, $"{_graph.TemplateListRequests.Count} page(s) read");
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone(), "t_249"));
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        Assert.Equal(1, _graph.DeliveredPerMessage[id]);
    }

    [Fact]
    public async Task A_next_page_on_another_host_is_not_followed_the_token_stays_home_and_no_template_is_lost()
    {
        await using var elsewhere = await FakeGraphApi.StartAsync();
        var sender = await Sender.CloudAsync(_host);
        Assert.Equal(250, (await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"))).GetProperty("templates").GetArrayLength());

        _graph.NextLinkBase = elsewhere.BaseAddress;
        var sync = await sender.Api.PostJsonAsync("templates/sync?whatsapp_account_id=" + sender.AccountId, "{}");

        var refused = await Envelope.ErrorAsync(sync, HttpStatusCode.BadGateway, "provider_error");
        Assert.Contains("next page", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(elsewhere.TemplateListRequests);
        Assert.Equal(250, (await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"))).GetProperty("templates").GetArrayLength());
    }

    [Fact]
    public async Task A_template_list_that_never_ends_is_given_up_after_a_bounded_number_of_pages()
    {
        _graph.EndlessPaging = true;
        var sender = await Sender.CloudAsync(_host);
        var before = _graph.TemplateListRequests.Count;

        var sync = await sender.Api.PostJsonAsync("templates/sync?whatsapp_account_id=" + sender.AccountId, "{}");

        await Envelope.ErrorAsync(sync, HttpStatusCode.BadGateway, "provider_error");
        Assert.Equal(CloudWhatsAppProvider.MaxTemplatePages, _graph.TemplateListRequests.Count - before);
    }
}
