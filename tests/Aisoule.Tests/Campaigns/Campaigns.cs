using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;

namespace Aisoule.Tests.Campaigns;

/// <summary>What campaign tests share: contacts to aim at, creating a campaign, waiting for its end.</summary>
internal static class CampaignHelpers
{
    /// <summary>Creates <paramref name="count"/> contacts with <paramref name="tags"/> (and optional extra fields); their ids.</summary>
    public static async Task<List<string>> ContactsAsync(Sender sender, int count, string[] tags, Func<int, object>? extra = null)
    {
        var ids = new List<string>();
        var items = Enumerable.Range(0, count).Select(i => extra?.Invoke(i) ?? new { phone_number = Sender.NewPhone(), name = $"Contact {i}", tags }).ToList();
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
}
