using System.Globalization;
using System.Net;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.Webhooks;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.OpenApi;

/// <summary>
/// Outbound webhooks: subscriptions, secrets, tests, deliveries, replays, recovery and samples. They live in a workspace
/// of their own (so other areas' events never reach them, and its 25 webhooks are this area's), and point at a host
/// under <c>.invalid</c>, which never resolves: every attempt is made and fails at once, and is answered as an attempt.
/// </summary>
internal static partial class ContractCases
{
    // RFC 2606: never resolves, so a delivery fails at once without leaving the machine (loopback is refused by default).
    private const string HookTarget = "https://receiver.invalid/aisoule";

    private static async Task SetUpWebhooksAsync(ContractWorld world)
    {
        var account = await Infrastructure.Identity.SignUpAsync(world.Main);
        world.Ids["webhooks_workspace"] = account.WorkspaceId;
        world.Ids["webhooks_key"] = await account.CreateKeyAsync("webhooks");
        world.Ids["webhook"] = await NewHookAsync(world, world.Ids["webhooks_key"]);
        world.Ids["webhook_delivery"] = await TestDeliveryAsync(world, world.Ids["webhook"]);
    }

    private static IEnumerable<ContractCase> Webhooks()
    {
        const string unknownHook = "wh_00000000000000000000000000000000";
        static string HookKey(ContractWorld w) => w.Ids["webhooks_key"];
        static HttpRequestMessage AsHooks(ContractWorld w, HttpMethod method, string path, object? body = null) =>
            Keyed(method, path, HookKey(w), body is null ? null : Json(body));

        yield return new("CreateWebhook", 201, null, w => Done(AsHooks(w, HttpMethod.Post, "/api/webhooks", new { name = "CRM", url = HookTarget, events = new[] { "message.incoming", "contact.created" } })));
        yield return new("CreateWebhook", 409, ErrorCodes.Conflict, async w =>
        {
            // A workspace of its own, filled to its 25 webhooks.
            var full = await Infrastructure.Identity.SignUpAsync(w.Main);
            var key = await full.CreateKeyAsync("full");
            for (var i = 0; i < WebhookService.MaxPerWorkspace; i++)
            {
                await NewHookAsync(w, key);
            }

            return Keyed(HttpMethod.Post, "/api/webhooks", key, Json(new { target_url = HookTarget, @event = "message.incoming" }));
        });

        yield return new("ListWebhooks", 200, null, w => Done(AsHooks(w, HttpMethod.Get, "/api/webhooks")));

        yield return new("GetWebhook", 200, null, w => Done(AsHooks(w, HttpMethod.Get, PathOf(w, "/api/webhooks/{webhook}"))));
        yield return new("GetWebhook", 404, ErrorCodes.NotFound, w => Done(AsHooks(w, HttpMethod.Get, "/api/webhooks/" + unknownHook)));

        yield return new("UpdateWebhook", 200, null, async w =>
            AsHooks(w, new HttpMethod("PATCH"), "/api/webhooks/" + await NewHookAsync(w, HookKey(w)), new { name = "CRM (paused)", enabled = false }));
        yield return new("UpdateWebhook", 404, ErrorCodes.NotFound, w => Done(AsHooks(w, new HttpMethod("PATCH"), "/api/webhooks/" + unknownHook, new { enabled = false })));

        yield return new("DeleteWebhook", 200, null, async w => AsHooks(w, HttpMethod.Delete, "/api/webhooks/" + await NewHookAsync(w, HookKey(w))));
        yield return new("DeleteWebhook", 404, ErrorCodes.NotFound, w => Done(AsHooks(w, HttpMethod.Delete, "/api/webhooks/" + unknownHook)));

        yield return new("RotateWebhookSecret", 200, null, async w => AsHooks(w, HttpMethod.Post, $"/api/webhooks/{await NewHookAsync(w, HookKey(w))}/rotate-secret"));
        yield return new("RotateWebhookSecret", 404, ErrorCodes.NotFound, w => Done(AsHooks(w, HttpMethod.Post, $"/api/webhooks/{unknownHook}/rotate-secret")));

        yield return new("TestWebhook", 200, null, async w => AsHooks(w, HttpMethod.Post, $"/api/webhooks/{await NewHookAsync(w, HookKey(w))}/test", new { @event = "contact.created" }));
        yield return new("TestWebhook", 404, ErrorCodes.NotFound, w => Done(AsHooks(w, HttpMethod.Post, $"/api/webhooks/{unknownHook}/test")));

        yield return new("ListWebhookDeliveries", 200, null, w => Done(AsHooks(w, HttpMethod.Get, PathOf(w, "/api/webhooks/{webhook}/deliveries?per_page=20"))));
        yield return new("ListWebhookDeliveries", 400, ErrorCodes.ValidationFailed, w => Done(AsHooks(w, HttpMethod.Get, PathOf(w, "/api/webhooks/{webhook}/deliveries?per_page=0"))));
        yield return new("ListWebhookDeliveries", 404, ErrorCodes.NotFound, w => Done(AsHooks(w, HttpMethod.Get, $"/api/webhooks/{unknownHook}/deliveries")));

        yield return new("ReplayWebhookDelivery", 200, null, w => Done(AsHooks(w, HttpMethod.Post, PathOf(w, "/api/webhooks/{webhook}/deliveries/{webhook_delivery}/replay"))));
        yield return new("ReplayWebhookDelivery", 404, ErrorCodes.NotFound, w => Done(AsHooks(w, HttpMethod.Post, PathOf(w, "/api/webhooks/{webhook}/deliveries/dlv_00000000000000000000000000000000/replay"))));
        yield return new("ReplayWebhookDelivery", 409, ErrorCodes.Conflict, async w =>
        {
            // A delivery whose attempt is under way (claimed just now), as another instance would leave it mid-post.
            var hook = await NewHookAsync(w, HookKey(w));
            var deliveryId = await TestDeliveryAsync(w, hook);
            var delivery = await w.Main.Services.GetRequiredService<WebhookDeliverer>().FindAsync(w.Ids["webhooks_workspace"], hook, deliveryId)
                ?? throw new InvalidOperationException("The test delivery is not stored.");
            delivery.Status = WebhookDeliveryStatus.Delivering;
            delivery.ClaimedAt = DateTimeOffset.UtcNow;
            var table = await w.Main.Services.GetRequiredService<StorageAccount>().GetTableAsync(WebhookDeliverer.Table);
            await table.UpdateEntityAsync(delivery, delivery.ETag, TableUpdateMode.Replace);
            return AsHooks(w, HttpMethod.Post, $"/api/webhooks/{hook}/deliveries/{deliveryId}/replay");
        });

        yield return new("RecoverWebhook", 202, null, async w =>
        {
            // A webhook with one failed delivery (its test): recovering replays it.
            var hook = await NewHookAsync(w, HookKey(w));
            await TestDeliveryAsync(w, hook);
            return AsHooks(w, HttpMethod.Post, $"/api/webhooks/{hook}/recover", new { since = Since() });
        });
        yield return new("RecoverWebhook", 404, ErrorCodes.NotFound, w => Done(AsHooks(w, HttpMethod.Post, $"/api/webhooks/{unknownHook}/recover", new { since = Since() })));

        yield return new("WebhookSamples", 200, null, w => Done(Keyed(HttpMethod.Get, "/api/webhooks/samples/message.incoming", w.ContactsOnlyKey)));
        yield return new("WebhookSamples", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Get, "/api/webhooks/samples/message.unknown", w.Key)));
    }

    private static string Since() => DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A new webhook of the workspace <paramref name="key"/> belongs to; its id.</summary>
    private static async Task<string> NewHookAsync(ContractWorld world, string key)
    {
        using var request = Keyed(HttpMethod.Post, "/api/webhooks", key, Json(new { name = "CRM", url = HookTarget, events = new[] { "message.incoming", "contact.created" } }));
        var created = await Envelope.SuccessAsync(await world.Main.Client.SendAsync(request), HttpStatusCode.Created);
        return created.GetProperty("id").GetString()!;
    }

    /// <summary>Sends the webhook a test event (which fails: its host never resolves); the delivery's id.</summary>
    private static async Task<string> TestDeliveryAsync(ContractWorld world, string webhookId)
    {
        using var request = Keyed(HttpMethod.Post, $"/api/webhooks/{webhookId}/test", world.Ids["webhooks_key"]);
        var attempt = await Envelope.SuccessAsync(await world.Main.Client.SendAsync(request));
        return attempt.GetProperty("delivery_id").GetString()!;
    }
}
