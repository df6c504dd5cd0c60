using System.Net;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>GET /templates lists every connected account's templates, whichever account was added first.</summary>
public sealed class TemplateListTests
{
    [Fact]
    public async Task An_account_added_before_the_first_list_does_not_hide_the_sandbox_numbers_templates()
    {
        await using var host = await TestHost.StartAsync();
        var owner = await Infrastructure.Identity.SignUpAsync(host);
        var added = await Envelope.SuccessAsync(await owner.SendAsync(HttpMethod.Post, "accounts", new
        {
            name = "Second line",
            phone_number_id = Random.Shared.NextInt64(100_000_000_000_000, 999_999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            waba_id = "102290129340398",
            access_token = "EAAG-sandbox-token-0123456789",
        }), HttpStatusCode.Created);

        var templates = (await Envelope.SuccessAsync(await owner.GetAsync("templates"))).GetProperty("templates").EnumerateArray()
            .Select(t => (Account: t.GetProperty("whatsapp_account_id").GetString(), Name: t.GetProperty("name").GetString())).ToList();

        Assert.Contains(("wa_sandbox", "hello_world"), templates);
        Assert.Contains((added.GetProperty("id").GetString(), "hello_world"), templates);
    }
}
