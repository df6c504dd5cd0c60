using System.Net;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.OpenApi;

/// <summary>Campaigns on the sandbox provider: create (and dry-run), list, read, reschedule, pause, resume, cancel, retry, recipients.</summary>
internal static partial class ContractCases
{
    private const string NoCampaign = "cmp_000000000000000000000000";

    private static async Task SetUpCampaignsAsync(ContractWorld world)
    {
        // One contact to aim the campaigns that must complete at; and 40 tagged ones, so a campaign to them runs for a
        // while (the sandbox number sends 80 a second) and can be paused while it runs.
        var contact = await DataAsync(world, Keyed(HttpMethod.Post, "/api/contacts", world.Key, Json(new { phone_number = ContractPhone(), name = "Ann" })), HttpStatusCode.Created);
        world.Ids["campaign_contact"] = contact.GetProperty("id").GetString()!;
        var many = Enumerable.Range(0, 40).Select(_ => new { phone_number = ContractPhone(), tags = new[] { "contract-many" } }).ToArray();
        await DataAsync(world, Keyed(HttpMethod.Post, "/api/contacts/bulk", world.Key, Json(new { contacts = many })));

        // Completed campaigns: one to read and to refuse (cancel, reschedule, pause), one to retry, one whose retry is
        // being prepared (campaign_busy: the state a retry leaves until its round is planned, set here so it lasts).
        var completed = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => CreateCampaignAsync(world, CampaignBody(world))));
        foreach (var id in completed)
        {
            await Eventually.WaitAsync(() => DataAsync(world, Keyed(HttpMethod.Get, "/api/campaigns/" + id, world.Key)), c => c.GetProperty("status").GetString() == CampaignStatus.Completed, TimeSpan.FromSeconds(60), $"campaign {id} completed");
        }

        (world.Ids["campaign"], world.Ids["campaign_to_retry"], world.Ids["campaign_busy"]) = (completed[0], completed[1], completed[2]);
        var campaigns = await world.Main.Services.GetRequiredService<StorageAccount>().GetTableAsync(CampaignKeys.Table);
        await campaigns.UpdateEntityAsync(new TableEntity(world.Owner.WorkspaceId, CampaignKeys.Campaign(completed[2])) { ["RetryCategoriesJson"] = "[\"retryable\"]" }, ETag.All, TableUpdateMode.Merge);

        // A draft: it cannot be paused, resumed or retried.
        world.Ids["campaign_draft"] = await CreateCampaignAsync(world, CampaignBody(world, draft: true));
    }

    private static IEnumerable<ContractCase> Campaigns()
    {
        const string campaigns = "/api/campaigns";
        yield return new("CreateCampaign", 201, null, w => Done(Keyed(HttpMethod.Post, campaigns, w.Key, Json(CampaignBody(w)))));
        yield return new("CreateCampaign", 200, null, w => Done(Keyed(HttpMethod.Post, campaigns, w.Key, Json(CampaignBody(w, dryRun: true)))));
        yield return new("CreateCampaign", 409, ErrorCodes.IdempotencyKeyReused, async w =>
        {
            var key = "contract-" + Guid.NewGuid().ToString("N");
            using (var first = await w.Main.Client.SendAsync(WithIdempotencyKey(Keyed(HttpMethod.Post, campaigns, w.Key, Json(CampaignBody(w, draft: true))), key)))
            {
                await Envelope.SuccessAsync(first, HttpStatusCode.Created);
            }

            return WithIdempotencyKey(Keyed(HttpMethod.Post, campaigns, w.Key, Json(CampaignBody(w, draft: true, name: "Another"))), key);
        });
        yield return new("CreateCampaign", 422, ErrorCodes.NoDefaultAccount, w => Done(Keyed(HttpMethod.Post, campaigns, w.Ids["no_account_key"], Json(CampaignBody(w)))));
        yield return new("CreateCampaign", 422, ErrorCodes.AccountDisconnected, w => Done(Keyed(HttpMethod.Post, campaigns, w.Ids["no_account_key"], Json(CampaignBody(w, account: "wa_sandbox")))));
        yield return new("CreateCampaign", 422, ErrorCodes.TemplateNotApproved, w => Done(Keyed(HttpMethod.Post, campaigns, w.Key, Json(CampaignBody(w, template: "new_offer")))));
        yield return new("CreateCampaign", 422, ErrorCodes.TemplateParametersMismatch, w => Done(Keyed(HttpMethod.Post, campaigns, w.Key, Json(CampaignBody(w, template: "order_update")))));

        yield return new("ListCampaigns", 200, null, w => Done(Keyed(HttpMethod.Get, campaigns + "?per_page=2", w.Key)));
        yield return new("ListCampaigns", 400, ErrorCodes.ValidationFailed, w => Done(Keyed(HttpMethod.Get, campaigns + "?per_page=0", w.Key)));

        yield return new("GetCampaign", 200, null, w => Done(Keyed(HttpMethod.Get, "/api/" + PathOf(w, "campaigns/{campaign}"), w.Key)));
        yield return new("GetCampaign", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Get, $"{campaigns}/{NoCampaign}", w.Key)));

        var later = new { scheduled_at = "2030-01-01T09:00:00Z" };
        yield return new("RescheduleCampaign", 200, null, async w =>
        {
            var id = await CreateCampaignAsync(w, CampaignBody(w, draft: true));
            return Keyed(HttpMethod.Patch, $"{campaigns}/{id}", w.Key, Json(later));
        });
        yield return new("RescheduleCampaign", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Patch, $"{campaigns}/{NoCampaign}", w.Key, Json(later))));
        yield return new("RescheduleCampaign", 409, ErrorCodes.InvalidCampaignState, w => Done(Keyed(HttpMethod.Patch, "/api/" + PathOf(w, "campaigns/{campaign}"), w.Key, Json(later))));

        yield return new("PauseCampaign", 200, null, async w =>
        {
            // Paused while it runs: 40 recipients at the sandbox's 80 a second take longer than the next request.
            var id = await CreateCampaignAsync(w, CampaignBody(w, tag: "contract-many"));
            return Keyed(HttpMethod.Post, $"{campaigns}/{id}/pause", w.Key);
        });
        yield return new("PauseCampaign", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Post, $"{campaigns}/{NoCampaign}/pause", w.Key)));
        yield return new("PauseCampaign", 409, ErrorCodes.InvalidCampaignState, w => Done(Keyed(HttpMethod.Post, "/api/" + PathOf(w, "campaigns/{campaign_draft}/pause"), w.Key)));

        yield return new("ResumeCampaign", 200, null, async w =>
        {
            var id = await CreateCampaignAsync(w, CampaignBody(w, tag: "contract-many"));
            await DataAsync(w, Keyed(HttpMethod.Post, $"{campaigns}/{id}/pause", w.Key));
            return Keyed(HttpMethod.Post, $"{campaigns}/{id}/resume", w.Key);
        });
        yield return new("ResumeCampaign", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Post, $"{campaigns}/{NoCampaign}/resume", w.Key)));
        yield return new("ResumeCampaign", 409, ErrorCodes.InvalidCampaignState, w => Done(Keyed(HttpMethod.Post, "/api/" + PathOf(w, "campaigns/{campaign_draft}/resume"), w.Key)));

        yield return new("CancelCampaign", 200, null, async w =>
        {
            var id = await CreateCampaignAsync(w, CampaignBody(w, draft: true));
            return Keyed(HttpMethod.Post, $"{campaigns}/{id}/cancel", w.Key);
        });
        yield return new("CancelCampaign", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Post, $"{campaigns}/{NoCampaign}/cancel", w.Key)));
        yield return new("CancelCampaign", 409, ErrorCodes.InvalidCampaignState, w => Done(Keyed(HttpMethod.Post, "/api/" + PathOf(w, "campaigns/{campaign}/cancel"), w.Key)));

        var retry = new { categories = new[] { "retryable" } };
        yield return new("RetryCampaign", 200, null, w => Done(Keyed(HttpMethod.Post, "/api/" + PathOf(w, "campaigns/{campaign_to_retry}/retry"), w.Key, Json(retry))));
        yield return new("RetryCampaign", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Post, $"{campaigns}/{NoCampaign}/retry", w.Key, Json(retry))));
        yield return new("RetryCampaign", 409, ErrorCodes.InvalidCampaignState, w => Done(Keyed(HttpMethod.Post, "/api/" + PathOf(w, "campaigns/{campaign_draft}/retry"), w.Key, Json(retry))));
        yield return new("RetryCampaign", 409, ErrorCodes.CampaignBusy, w => Done(Keyed(HttpMethod.Post, "/api/" + PathOf(w, "campaigns/{campaign_busy}/retry"), w.Key, Json(retry))));

        yield return new("ListCampaignRecipients", 200, null, w => Done(Keyed(HttpMethod.Get, "/api/" + PathOf(w, "campaigns/{campaign}/recipients") + "?per_page=10", w.Key)));
        yield return new("ListCampaignRecipients", 404, ErrorCodes.NotFound, w => Done(Keyed(HttpMethod.Get, $"{campaigns}/{NoCampaign}/recipients", w.Key)));
        yield return new("ListCampaignRecipients", 400, ErrorCodes.ValidationFailed, w => Done(Keyed(HttpMethod.Get, "/api/" + PathOf(w, "campaigns/{campaign}/recipients") + "?status=lost", w.Key)));
    }

    /// <summary>A campaign of hello_world (or <paramref name="template"/>) to the set-up contact (or to <paramref name="tag"/>).</summary>
    private static Dictionary<string, object?> CampaignBody(ContractWorld world, bool draft = false, bool dryRun = false, string template = "hello_world", string? account = null, string? tag = null, string name = "Contract") =>
        new Dictionary<string, object?>
        {
            ["name"] = name,
            ["whatsapp_account_id"] = account,
            ["template"] = new { name = template, language = "en_US" },
            ["audience"] = tag is null ? new { contact_ids = new[] { world.Ids["campaign_contact"] } } : (object)new { tags = new[] { tag } },
            ["draft"] = draft ? true : null,
            ["dry_run"] = dryRun ? true : null,
        };

    private static async Task<string> CreateCampaignAsync(ContractWorld world, object body) =>
        (await DataAsync(world, Keyed(HttpMethod.Post, "/api/campaigns", world.Key, Json(body)), HttpStatusCode.Created)).GetProperty("id").GetString()!;
}
