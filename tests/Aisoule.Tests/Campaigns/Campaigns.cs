using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.Campaigns;

/// <summary>What campaign tests share: contacts to aim at, creating a campaign, waiting for its end.</summary>
internal static class CampaignHelpers
{
    /// <summary>Creates <paramref name="count"/> contacts with <paramref name="tags"/> (and optional extra fields); their ids.</summary>
    private static int _phone = 2_000_000;

    /// <summary>A phone no other call in this test run has had: random ones can meet (about 1 in 300 for 220 of them), and a bulk upsert then changes the other contact.</summary>
    public static string UniquePhone() => "+1650" + Interlocked.Increment(ref _phone).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<List<string>> ContactsAsync(Sender sender, int count, string[] tags, Func<int, object>? extra = null)
    {
        var ids = new List<string>();
        var items = Enumerable.Range(0, count).Select(i => extra?.Invoke(i) ?? new { phone_number = UniquePhone(), name = $"Contact {i}", tags }).ToList();
        foreach (var chunk in items.Chunk(100))
        {
            var result = await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts/bulk", new { contacts = chunk }));
            _ = result;
        }

        var listed = await ListIdsAsync(sender, tags[0]);
        ids.AddRange(listed);
        return ids;
    }

    public static async Task<List<string>> ListIdsAsync(Sender sender, string tag)
    {
        var ids = new List<string>();
        for (var page = 1; ; page++)
        {
            var list = await Envelope.SuccessAsync(await sender.Api.GetAsync($"contacts?tag={tag}&per_page=100&page={page}"));
            var contacts = list.GetProperty("contacts");
            ids.AddRange(contacts.EnumerateArray().Select(c => c.GetProperty("id").GetString()!));
            if (contacts.GetArrayLength() < 100)
            {
                return ids;
            }
        }
    }

    public static async Task<JsonElement> CreateAsync(Sender sender, object body, HttpStatusCode expected = HttpStatusCode.Created) =>
        await Envelope.SuccessAsync(await sender.Api.PostAsync("campaigns", body), expected);

    public static async Task<JsonElement> GetAsync(Sender sender, string id) =>
        await Envelope.SuccessAsync(await sender.Api.GetAsync("campaigns/" + id));

    public static Task<JsonElement> WaitForStatusAsync(Sender sender, string id, string status, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(() => GetAsync(sender, id), c => c.GetProperty("status").GetString() == status, timeout ?? TimeSpan.FromSeconds(60), $"campaign {id} {status}");

    public static async Task<List<JsonElement>> RecipientsAsync(Sender sender, string id, string query = "")
    {
        var all = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await Envelope.SuccessAsync(await sender.Api.GetAsync($"campaigns/{id}/recipients?per_page=100{query}{(cursor is null ? "" : "&cursor=" + cursor)}"));
            all.AddRange(page.GetProperty("recipients").EnumerateArray().Select(r => r.Clone()));
            cursor = page.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);
        return all;
    }

    public static long Stat(JsonElement campaign, string name) => campaign.GetProperty("stats").GetProperty(name).GetInt64();

    /// <summary>Creates one contact through <c>POST /contacts</c>; its id.</summary>
    public static async Task<string> ContactAsync(Sender sender, object body) =>
        (await Envelope.SuccessAsync(await sender.Api.PostAsync("contacts", body), HttpStatusCode.Created)).GetProperty("id").GetString()!;

    /// <summary>A request with the sender's API key (and an Idempotency-Key when given).</summary>
    public static async Task<HttpResponseMessage> SendAsync(Sender sender, HttpMethod method, string path, object? body = null, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-API-Key", sender.Key);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await sender.Host.Client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> PatchAsync(Sender sender, string id, object body) => SendAsync(sender, HttpMethod.Patch, "campaigns/" + id, body);

    public static Task<HttpResponseMessage> ActAsync(Sender sender, string id, string action) => SendAsync(sender, HttpMethod.Post, $"campaigns/{id}/{action}", new { });

    /// <summary>A time as the API takes it: UTC, whole seconds, with a Z.</summary>
    public static string Utc(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Id(JsonElement campaign) => campaign.GetProperty("id").GetString()!;

    public static List<string> ContactIds(IEnumerable<JsonElement> recipients) => [.. recipients.Select(r => r.GetProperty("contact_id").GetString()!).Order(StringComparer.Ordinal)];

    public static long Skipped(JsonElement campaign, string reason) =>
        campaign.GetProperty("skipped_by_reason").TryGetProperty(reason, out var n) ? n.GetInt64() : 0;

    /// <summary>The campaign's outbox rows (<c>o_campaign_{id}_…</c>) in table <c>campaigns</c>, by row key.</summary>
    public static async Task<Dictionary<string, TableEntity>> OutboxAsync(Sender sender, string id)
    {
        var table = await sender.Host.Services.GetRequiredService<StorageAccount>().GetTableAsync(CampaignKeys.Table);
        var prefix = OutboxEvent.Prefix + "campaign_" + id + "_";
        var rows = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {sender.Owner.WorkspaceId} and RowKey ge {prefix} and RowKey lt {prefix + "~"}")))
        {
            rows[row.RowKey] = row;
        }

        return rows;
    }

    /// <summary>Every row of the workspace in the campaigns table and every recipient row in its message partitions.</summary>
    public static async Task<(List<string> CampaignRows, List<string> RecipientRows)> StoredAsync(Sender sender)
    {
        var storage = sender.Host.Services.GetRequiredService<StorageAccount>();
        var campaigns = await storage.GetTableAsync(CampaignKeys.Table);
        var ws = sender.Owner.WorkspaceId;
        var campaignRows = new List<string>();
        await foreach (var row in campaigns.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {ws} or (PartitionKey eq {CampaignKeys.ActivePartition} and RowKey ge {ws + "|"} and RowKey lt {ws + "}"})")))
        {
            campaignRows.Add(row.PartitionKey + "/" + row.RowKey);
        }

        var messages = await storage.GetTableAsync(Aisoule.Core.Messaging.MessagingNames.Messages);
        var recipientRows = new List<string>();
        await foreach (var row in messages.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey ge {ws} and PartitionKey lt {ws + "}"} and ((RowKey ge {CampaignKeys.RecipientPrefix} and RowKey lt {"r`"}) or (RowKey ge {CampaignKeys.StatsPrefix} and RowKey lt {"x`"}))")))
        {
            recipientRows.Add(row.PartitionKey + "/" + row.RowKey);
        }

        return (campaignRows, recipientRows);
    }
}
