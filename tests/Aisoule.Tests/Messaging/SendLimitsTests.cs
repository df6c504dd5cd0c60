using System.Net;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// A send's stored payload always fits Table Storage, what would not is a 400 naming the field, and a send that ends
/// in any error leaves its Idempotency-Key free for the corrected retry.
/// </summary>
public sealed class SendLimitsTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Template_parameter_of_40000_characters_answers_400_naming_the_field_and_stores_nothing()
    {
        var sender = await Sender.SandboxAsync(_host);

        var response = await SendAsync(sender, TemplateWithParameter(Sender.NewPhone(), new string('x', 40_000)), "big-param");

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("28,000", error.GetProperty("errors").GetProperty("template.components")[0].GetString());
        Assert.Equal(0, await TotalAsync(sender));
    }

    [Fact]
    public async Task Corrected_retry_of_an_oversize_send_with_the_same_key_is_accepted()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();
        await Envelope.ErrorAsync(await SendAsync(sender, TemplateWithParameter(to, new string('x', 40_000)), "order-2001"), HttpStatusCode.BadRequest, "validation_failed");

        var retry = await SendAsync(sender, TemplateWithParameter(to, "Ada"), "order-2001");

        await Sender.AcceptedIdAsync(retry);
        Assert.Equal(1, await TotalAsync(sender));
    }

    [Fact]
    public async Task Template_parameters_at_the_limit_are_accepted_and_stored_whole()
    {
        var sender = await Sender.SandboxAsync(_host);

        // Each "é" is stored as a 6-character \u00e9 escape; the components JSON around it is 60 characters.
        var id = await Sender.AcceptedIdAsync(await SendAsync(sender, TemplateWithParameter(Sender.NewPhone(), new string('é', (28_000 - 60) / 6))));

        var stored = await _host.Services.GetRequiredService<MessageStore>().FindAsync(sender.Owner.WorkspaceId, id, default);
        Assert.True(stored!.PayloadJson.Length <= StoredSize.MaxStringChars);
    }

    [Fact]
    public async Task Interactive_that_grows_past_the_limit_once_escaped_answers_400_naming_the_field()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();
        await sender.InboundFromAsync(to);

        var response = await SendAsync(sender, new { to, type = "interactive", interactive = new { type = "button", body = new { text = new string('é', 19_000) } } });

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(error.GetProperty("errors").TryGetProperty("interactive", out _));
        Assert.Equal(0, await TotalAsync(sender));
    }

    [Fact]
    public async Task Template_parameter_that_is_not_valid_unicode_answers_400_naming_the_field()
    {
        var sender = await Sender.SandboxAsync(_host);

        var response = await sender.Api.PostJsonAsync("messages/send", """{"to":"TO","type":"template","template":{"name":"hello_world","language":"en_US","components":[{"type":"body","parameters":[{"type":"text","text":"\ud800"}]}]}}""".Replace("TO", Sender.NewPhone(), StringComparison.Ordinal));

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("Not valid text", error.GetProperty("errors").GetProperty("template.components[0].parameters[0].text")[0].GetString());
        Assert.Equal(0, await TotalAsync(sender));
    }

    [Fact]
    public async Task Inbound_message_from_a_very_long_profile_name_creates_the_contact_with_the_name_cut_to_200()
    {
        var sender = await Sender.SandboxAsync(_host);
        var from = Sender.NewPhone();

        await Envelope.SuccessAsync(await MetaWebhook.PostAsync(_host.Client, MetaWebhook.Inbound(sender.PhoneNumberId, from.TrimStart('+'), "wamid.IN" + Guid.NewGuid().ToString("N"), "Hi", profileName: new string('#', 300))));

        var contact = await Eventually.WaitAsync(
            async () => (await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts?search=" + Uri.EscapeDataString(from)))).GetProperty("contacts"),
            c => c.GetArrayLength() == 1 && c[0].GetProperty("last_inbound_at").ValueKind == System.Text.Json.JsonValueKind.String,
            what: "the contact written in by webhook");
        Assert.Equal(new string('#', 200), contact[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Text_of_4096_characters_each_stored_escaped_is_accepted()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();
        await sender.InboundFromAsync(to);

        await Sender.AcceptedIdAsync(await SendAsync(sender, new { to, type = "text", text = string.Concat(Enumerable.Repeat("\U0001F600", 2048)) }));
    }

    [Fact]
    public async Task Send_that_fails_on_a_storage_error_leaves_its_key_free_for_the_corrected_retry()
    {
        var sender = await Sender.SandboxAsync(_host);
        var to = Sender.NewPhone();
        await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(to));
        var storage = _host.Services.GetRequiredService<StorageAccount>();
        var messages = await storage.GetTableAsync(MessagingNames.Messages);

        // The messages table disappears under the running host: the send's write fails after its key was claimed.
        await messages.DeleteAsync();
        await Envelope.ErrorAsync(await SendAsync(sender, TemplateWithParameter(to, "wrong"), "order-3001"), HttpStatusCode.InternalServerError, "internal_error");
        await messages.CreateIfNotExistsAsync();

        var retry = await SendAsync(sender, TemplateWithParameter(to, "right"), "order-3001");

        await Sender.AcceptedIdAsync(retry);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
    }

    // Bodies are sent as most clients write them: every character as itself, not as a \uXXXX escape.
    private static async Task<HttpResponseMessage> SendAsync(Sender sender, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "messages/send") { Content = LiteralJson.Content(body) };
        request.Headers.Add("X-API-Key", sender.Key);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await sender.Host.Client.SendAsync(request);
    }

    private static object TemplateWithParameter(string to, string text) => new
    {
        to,
        type = "template",
        template = new
        {
            name = "spring_sale",
            language = "en_US",
            components = new[] { new { type = "body", parameters = new[] { new { type = "text", text } } } },
        },
    };

    private static async Task<int> TotalAsync(Sender sender) =>
        (await Envelope.SuccessAsync(await sender.Api.GetAsync("messages"))).GetProperty("total").GetInt32();
}
