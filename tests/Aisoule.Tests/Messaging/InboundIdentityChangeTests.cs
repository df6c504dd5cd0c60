using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>Meta's identity changes for contacts the workspace knew only by phone, before BSUIDs came.</summary>
public sealed class InboundIdentityChangeTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:SandboxStatusDelay"] = "00:10:00" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static string NewUserId() => "US." + Random.Shared.NextInt64(1_000_000_000_000_000, 9_000_000_000_000_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string NewWamid() => "wamid.HBgL" + Guid.NewGuid().ToString("N").ToUpperInvariant() + "=";

    private static string Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task PostAsync(Sender sender, string valueJson)
    {
        var value = JsonDocument.Parse(valueJson).RootElement;
        var merged = new Dictionary<string, object>
        {
            ["messaging_product"] = "whatsapp",
            ["metadata"] = new { display_phone_number = "15550783881", phone_number_id = sender.PhoneNumberId },
        };
        foreach (var property in value.EnumerateObject())
        {
            merged[property.Name] = property.Value;
        }

        var body = JsonSerializer.Serialize(new
        {
            @object = "whatsapp_business_account",
            entry = new[] { new { id = "102290129340398", changes = new[] { new { value = merged, field = "messages" } } } },
        });
        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, body));
    }

    [Fact]
    public async Task A_number_change_in_the_bsuid_shape_moves_a_contact_known_only_by_phone_and_its_next_message_finds_it()
    {
        var sender = await Sender.SandboxAsync(_host);
        var (oldPhone, newPhone) = (Sender.NewPhone(), Sender.NewPhone());
        var (oldUser, newUser) = (NewUserId(), NewUserId());
        var crm = (await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", new { phone_number = oldPhone, name = "CRM" }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

        await PostAsync(sender, $$$"""
            {"messages":[{"from":"{{{oldPhone.TrimStart('+')}}}","from_user_id":"{{{oldUser}}}","id":"{{{NewWamid()}}}","timestamp":"{{{Now()}}}","type":"system",
              "system":{"body":"User CRM changed from {{{oldPhone}}} to {{{newPhone}}}","wa_id":"{{{newPhone.TrimStart('+')}}}",
                "user_id":"{{{newUser}}}","previous_user_id":"{{{oldUser}}}","type":"user_changed_number"}}]}
            """);
        var moved = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + crm)),
            c => c.GetProperty("phone_number").GetString() == newPhone && c.GetProperty("wa_user_id").GetString() == newUser, what: "the contact moved to its new phone and id");
        await PostAsync(sender, $$$"""
            {"contacts":[{"profile":{"name":"CRM"},"wa_id":"{{{newPhone.TrimStart('+')}}}","user_id":"{{{newUser}}}"}],
             "messages":[{"from":"{{{newPhone.TrimStart('+')}}}","from_user_id":"{{{newUser}}}","id":"{{{NewWamid()}}}","timestamp":"{{{Now()}}}","type":"text","text":{"body":"new phone"}}]}
            """);

        Assert.Equal(newUser, moved.GetProperty("wa_user_id").GetString());
        var replied = await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts/" + crm)),
            c => c.GetProperty("last_inbound_at").ValueKind == JsonValueKind.String, what: "the reply landed on the same contact");
        Assert.Equal(newPhone, replied.GetProperty("phone_number").GetString());
        var list = await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts"));
        Assert.Equal(1, list.GetProperty("total").GetInt32());
    }
}
