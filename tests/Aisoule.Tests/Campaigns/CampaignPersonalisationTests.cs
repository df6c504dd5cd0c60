using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Xunit;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

/// <summary>What Meta receives for each recipient of a personalised campaign.</summary>
public sealed class CampaignPersonalisationTests : IAsyncLifetime
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
    public async Task Each_recipient_gets_its_own_frozen_values_a_default_fills_a_blank_and_a_missing_value_is_skipped_never_sent_blank()
    {
        var sender = await Sender.CloudAsync(_host);
        var phones = Enumerable.Range(0, 3).Select(_ => Sender.NewPhone()).ToArray();
        await ContactsAsync(sender, 3, ["named"], i => i switch
        {
            0 => new { phone_number = phones[0], name = "Ana", tags = new[] { "named" }, custom_fields = new Dictionary<string, object> { ["order"] = "A-1" } },
            1 => new { phone_number = phones[1], name = "Bo", tags = new[] { "named" }, custom_fields = new Dictionary<string, object>() },
            _ => (object)new { phone_number = phones[2], tags = new[] { "named" }, custom_fields = new Dictionary<string, object> { ["order"] = "C-3" } },
        });

        var id = (await CreateAsync(sender, new
        {
            name = "Orders",
            template = new
            {
                name = "order_confirmation",
                language = "en_US",
                components = new object[]
                {
                    new
                    {
                        type = "body",
                        parameters = new object[]
                        {
                            new { type = "text", parameter_name = "first_name", text = "{{contact.name}}" },
                            new { type = "text", parameter_name = "order_number", text = "{{contact.custom_fields.order | default: \"pending\"}}" },
                        },
                    },
                },
            },
            audience = new { tags = new[] { "named" } },
        })).GetProperty("id").GetString()!;

        var done = await WaitForStatusAsync(sender, id, "completed");
        Assert.Equal(1, Stat(done, "skipped"));
        Assert.Equal(1, done.GetProperty("skipped_by_reason").GetProperty("missing_variable").GetInt64());
        var skipped = Assert.Single(await RecipientsAsync(sender, id, "&status=skipped"));
        Assert.Equal("name", skipped.GetProperty("missing_variable").GetString());

        string Values(string phone)
        {
            var body = _graph.Sends.Single(s => s.Body.GetProperty("to").GetString() == phone.TrimStart('+')).Body;
            var parameters = body.GetProperty("template").GetProperty("components")[0].GetProperty("parameters");
            return string.Join("|", parameters.EnumerateArray().Select(p => p.GetProperty("text").GetString()));
        }

        Assert.Equal("Ana|A-1", Values(phones[0]));
        Assert.Equal("Bo|pending", Values(phones[1]));
        Assert.DoesNotContain(_graph.Sends, s => s.Body.GetProperty("to").GetString() == phones[2].TrimStart('+'));
        Assert.DoesNotContain(_graph.Sends, s => s.Body.GetRawText().Contains("{{", StringComparison.Ordinal));
    }
}
