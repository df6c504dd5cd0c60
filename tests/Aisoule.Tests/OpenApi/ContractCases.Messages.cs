using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Aisoule.Core.Results;
using Aisoule.Core.WhatsApp;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.OpenApi;

/// <summary>
/// Sending messages, reading them, and Meta's webhook (its handshake and signed events), on the sandbox provider;
/// 422 <c>recipient_needs_phone</c> on the cloud host, whose Graph fake has an AUTHENTICATION template (the sandbox's
/// templates are utility and marketing ones).
/// </summary>
internal static partial class ContractCases
{
    private static int _contractPhone = 2_000_000;

    /// <summary>A phone no other case of this run has had.</summary>
    private static string ContractPhone() => "+1646" + Interlocked.Increment(ref _contractPhone).ToString(CultureInfo.InvariantCulture);

    private static async Task SetUpMessagesAsync(ContractWorld world)
    {
        // The sandbox number Meta's webhook bodies are addressed to.
        var accounts = await DataAsync(world, Keyed(HttpMethod.Get, "/api/accounts", world.Key));
        world.Ids["phone_number_id"] = accounts.GetProperty("accounts")[0].GetProperty("phone_number_id").GetString()!;

        // A sent message (GET /messages/{id}).
        var sent = await DataAsync(world, Keyed(HttpMethod.Post, "/api/messages/send", world.Key, Json(TemplateSend(ContractPhone(), "hello_world"))), HttpStatusCode.Accepted);
        world.Ids["message"] = sent.GetProperty("message_id").GetString()!;
        world.Ids["message_contact"] = sent.GetProperty("contact_id").GetString()!;

        // A contact who opted out of marketing (a marketing template to it: 422 contact_opted_out).
        var optedOut = await DataAsync(world, Keyed(HttpMethod.Post, "/api/contacts", world.Key, Json(new { phone_number = ContractPhone(), opted_in = false })), HttpStatusCode.Created);
        world.Ids["opted_out_contact"] = optedOut.GetProperty("id").GetString()!;

        // A workspace whose only number, the sandbox's, was removed: no default account (422 no_default_account), and
        // naming the removed one is 422 account_disconnected. Its key is kept in Ids (the campaigns' cases use it too).
        var owner = await Infrastructure.Identity.SignUpAsync(world.Main);
        var key = await owner.CreateKeyAsync("no account");
        (await world.Main.Client.SendAsync(Keyed(HttpMethod.Get, "/api/accounts", key))).Dispose();
        using (var removed = await owner.SendAsync(HttpMethod.Delete, "accounts/wa_sandbox"))
        {
            await Envelope.SuccessAsync(removed);
        }

        world.Ids["no_account_key"] = key;
    }

    private static IEnumerable<ContractCase> Messages()
    {
        yield return new("SendMessage", 503, ErrorCodes.Busy, async w =>
        {
            // A send to a new phone makes its contact; a phone pointer row that names no contact makes every attempt
            // fail and find no holder, until the retries run out (what a storm of writers to one phone looks like).
            var phone = ContractPhone();
            var table = await w.Main.Services.GetRequiredService<Core.Storage.StorageAccount>().GetTableAsync(Core.Contacts.ContactService.Table);
            await table.AddEntityAsync(new Azure.Data.Tables.TableEntity(w.Owner.WorkspaceId, Core.Contacts.ContactKeys.Phone(phone)));
            return Keyed(HttpMethod.Post, "/api/messages/send", w.Key, Json(TemplateSend(phone, "hello_world")));
        });
        yield return new("SendMessage", 422, ErrorCodes.RecipientNeedsPhone, async w =>
        {
            var userId = MetaWebhook.NewUserId();
            (await w.Cloud.Client.SendAsync(Keyed(HttpMethod.Post, "/api/contacts", w.CloudSender.Key, Json(new { wa_user_id = userId })))).Dispose();
            return Keyed(HttpMethod.Post, "/api/messages/send", w.CloudSender.Key, Json(new
            {
                user_id = userId,
                type = "template",
                template = new { name = "login_code", language = "en_US", components = new object[] { new { type = "body", parameters = new object[] { new { type = "text", text = "123456" } } } } },
            }));
        }, Target.Cloud);

        const string send = "/api/messages/send";
        yield return new("SendMessage", 202, null, w => Done(Keyed(HttpMethod.Post, send, w.Key, Json(TemplateSend(ContractPhone(), "hello_world")))));
        yield return new("SendMessage", 400, ErrorCodes.InvalidPhoneNumber, w => Done(Keyed(HttpMethod.Post, send, w.Key, Json(TemplateSend("12", "hello_world")))));
        yield return new("SendMessage", 409, ErrorCodes.IdempotencyKeyReused, async w =>
        {
            var key = "contract-" + Guid.NewGuid().ToString("N");
            using (var first = await w.Main.Client.SendAsync(WithIdempotencyKey(Keyed(HttpMethod.Post, send, w.Key, Json(TemplateSend(ContractPhone(), "hello_world"))), key)))
            {
                await Envelope.SuccessAsync(first, HttpStatusCode.Accepted);
            }

            return WithIdempotencyKey(Keyed(HttpMethod.Post, send, w.Key, Json(TemplateSend(ContractPhone(), "hello_world"))), key);
        });
        yield return new("SendMessage", 422, ErrorCodes.NoDefaultAccount, w => Done(Keyed(HttpMethod.Post, send, w.Ids["no_account_key"], Json(TemplateSend(ContractPhone(), "hello_world")))));
        yield return new("SendMessage", 422, ErrorCodes.AccountDisconnected, w => Done(Keyed(HttpMethod.Post, send, w.Ids["no_account_key"], Json(new
        {
            to = ContractPhone(),
            type = "template",
            template = new { name = "hello_world", language = "en_US" },
            whatsapp_account_id = "wa_sandbox",
        }))));
        yield return new("SendMessage", 422, ErrorCodes.TemplateNotApproved, w => Done(Keyed(HttpMethod.Post, send, w.Key, Json(TemplateSend(ContractPhone(), "new_offer")))));
        yield return new("SendMessage", 422, ErrorCodes.TemplateParametersMismatch, w => Done(Keyed(HttpMethod.Post, send, w.Key, Json(TemplateSend(ContractPhone(), "order_update")))));
        yield return new("SendMessage", 422, ErrorCodes.ContactNotFound, w => Done(Keyed(HttpMethod.Post, send, w.Key, Json(new { contact_id = "ct_" + new string('0', 24), type = "template", template = new { name = "hello_world", language = "en_US" } }))));
        yield return new("SendMessage", 422, ErrorCodes.ContactOptedOut, w => Done(Keyed(HttpMethod.Post, send, w.Key, Json(new
        {
            contact_id = w.Ids["opted_out_contact"],
            type = "template",
            template = new { name = "spring_sale", language = "en_US", components = new[] { new { type = "body", parameters = new[] { new { type = "text", text = "20%" } } } } },
        }))));
        yield return new("SendMessage", 422, ErrorCodes.OutsideServiceWindow, w => Done(Keyed(HttpMethod.Post, send, w.Key, Json(new { to = ContractPhone(), type = "text", text = "Hello!" }))));

        yield return new("GetMessage", 200, null, w => Done(Keyed(HttpMethod.Get, "/api/" + PathOf(w, "messages/{message}"), w.Key)));
        yield return new("GetMessage", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Get, "/api/messages/msg_" + new string('0', 32), w.Key)));

        yield return new("ListMessages", 200, null, w => Done(Keyed(HttpMethod.Get, "/api/messages?per_page=5&contact_id=" + w.Ids["message_contact"], w.Key)));
        yield return new("ListMessages", 400, ErrorCodes.ValidationFailed, w => Done(Keyed(HttpMethod.Get, "/api/messages?status=lost", w.Key)));

        const string webhook = "/api/whatsapp/webhook";
        yield return new("VerifyWhatsAppWebhook", 200, null, _ => Done(new HttpRequestMessage(HttpMethod.Get, $"{webhook}?hub.mode=subscribe&hub.verify_token={MetaWebhook.VerifyToken}&hub.challenge=1158201444")));
        yield return new("VerifyWhatsAppWebhook", 403, ErrorCodes.VerificationFailed, _ => Done(new HttpRequestMessage(HttpMethod.Get, $"{webhook}?hub.mode=subscribe&hub.verify_token=not-the-token&hub.challenge=1158201444")));

        yield return new("ReceiveWhatsAppWebhook", 200, null, w => Done(Signed(MetaWebhook.Inbound(w.Ids["phone_number_id"], ContractPhone().TrimStart('+'), MetaWebhook.NewWamid(), "Hi"))));
        yield return new("ReceiveWhatsAppWebhook", 401, ErrorCodes.InvalidSignature, w => Done(Signed(MetaWebhook.Inbound(w.Ids["phone_number_id"], ContractPhone().TrimStart('+'), MetaWebhook.NewWamid(), "Hi"), "sha256=" + new string('0', 64))));
        yield return new("ReceiveWhatsAppWebhook", 400, ErrorCodes.InvalidJson, _ => Done(Signed("{\"object\": ")));

        // One message alone larger than a queue message can carry (45,000 bytes): nothing is queued. And a body over 5 MB.
        yield return new("ReceiveWhatsAppWebhook", 413, ErrorCodes.PayloadTooLarge, w => Done(Signed(MetaWebhook.Inbound(w.Ids["phone_number_id"], ContractPhone().TrimStart('+'), MetaWebhook.NewWamid(), new string('a', 50_000)))));
        yield return new("ReceiveWhatsAppWebhook", 413, ErrorCodes.PayloadTooLarge, _ => Done(Signed(new string(' ', (5 * 1024 * 1024) + 1))));

        // Signed, so it gets past the signature to the queue that does not answer.
        yield return new("ReceiveWhatsAppWebhook", 503, ErrorCodes.StorageUnavailable, w => Done(Signed(MetaWebhook.Inbound(w.Ids["phone_number_id"], ContractPhone().TrimStart('+'), MetaWebhook.NewWamid(), "Hi"))), Target.Down);
    }

    private static object TemplateSend(string to, string template) => new { to, type = "template", template = new { name = template, language = "en_US" } };

    private static HttpRequestMessage WithIdempotencyKey(HttpRequestMessage request, string key)
    {
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    /// <summary>A POST of Meta's webhook, signed with the app secret (or with <paramref name="signature"/>).</summary>
    private static HttpRequestMessage Signed(string body, string? signature = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/whatsapp/webhook") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Hub-Signature-256", signature ?? WebhookSignature.Sign(Encoding.UTF8.GetBytes(body), MetaWebhook.AppSecret));
        return request;
    }

    /// <summary>Sends a set-up request to the main host: its data, checked to be a success with <paramref name="expected"/>.</summary>
    private static async Task<JsonElement> DataAsync(ContractWorld world, HttpRequestMessage request, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using (request)
        {
            using var response = await world.Main.Client.SendAsync(request);
            return await Envelope.SuccessAsync(response, expected);
        }
    }
}
