using System.Net;
using System.Text.Json;
using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.Messaging;

/// <summary>A workspace that sends: its owner's session, an API key, and its sending account.</summary>
internal sealed record Sender(TestHost Host, Account Owner, string Key, string AccountId, string PhoneNumberId)
{
    public KeyClient Api => new(Host.Client, Key);

    public static async Task<Sender> SandboxAsync(TestHost host)
    {
        var owner = await Infrastructure.Identity.SignUpAsync(host);
        var key = await owner.CreateKeyAsync();
        var api = new KeyClient(host.Client, key);
        var accounts = await Envelope.SuccessAsync(await api.GetAsync("accounts"));
        var account = accounts.GetProperty("accounts")[0];
        return new Sender(host, owner, key, account.GetProperty("id").GetString()!, account.GetProperty("phone_number_id").GetString()!);
    }

    /// <summary>A workspace with a Cloud API number added through POST /accounts (the fake checks the token).</summary>
    public static async Task<Sender> CloudAsync(TestHost host, int throughputMps = 80)
    {
        var owner = await Infrastructure.Identity.SignUpAsync(host);
        var key = await owner.CreateKeyAsync();
        var phoneNumberId = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var added = await Envelope.SuccessAsync(await owner.SendAsync(HttpMethod.Post, "accounts", new
        {
            name = "Shop",
            phone_number_id = phoneNumberId,
            waba_id = "102290129340398",
            access_token = FakeGraphApi.Token,
            throughput_mps = throughputMps,
            is_default = true,
        }), HttpStatusCode.Created);
        return new Sender(host, owner, key, added.GetProperty("id").GetString()!, phoneNumberId);
    }

    public static string NewPhone() => "+1212" + Random.Shared.Next(2_000_000, 9_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public Task<HttpResponseMessage> SendTemplateAsync(string to, string name = "hello_world", string? idempotencyKey = null) =>
        SendAsync(new { to, type = "template", template = new { name, language = "en_US" } }, idempotencyKey);

    public async Task<HttpResponseMessage> SendAsync(object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "messages/send") { Content = System.Net.Http.Json.JsonContent.Create(body) };
        request.Headers.Add("X-API-Key", Key);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await Host.Client.SendAsync(request);
    }

    public static async Task<string> AcceptedIdAsync(HttpResponseMessage response) =>
        (await Envelope.SuccessAsync(response, HttpStatusCode.Accepted)).GetProperty("message_id").GetString()!;

    public async Task<JsonElement> MessageAsync(string id) => await Envelope.SuccessAsync(await Api.GetAsync("messages/" + id));

    public Task<JsonElement> MessageWhenAsync(string id, Func<JsonElement, bool> done, string what) =>
        Eventually.WaitAsync(() => MessageAsync(id), done, what: what);

    public static Func<JsonElement, bool> StatusIs(params string[] statuses) => m => statuses.Contains(m.GetProperty("status").GetString());

    /// <summary>
    /// The data of the workspace's outbox events named <paramref name="name"/>: its inbound partition and its message
    /// partitions (<c>{workspace}|x</c>); event rows only, not the pending rows that carry a copy until the relay takes it.
    /// </summary>
    public async Task<List<string>> EventsAsync(string name)
    {
        var table = await Host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Messages);
        var found = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey ge {Owner.WorkspaceId} and PartitionKey lt {Owner.WorkspaceId + "}"} and RowKey ge {OutboxEvent.Prefix} and RowKey lt {TableKeys.After(OutboxEvent.Prefix)} and Event eq {name}")))
        {
            found.Add(row.GetString("Data"));
        }

        return found;
    }

    /// <summary>Tells the API the contact wrote to us just now (opens the 24-hour window).</summary>
    public async Task InboundFromAsync(string phone, string text = "Hi")
    {
        var response = await MetaWebhook.PostAsync(Host.Client, MetaWebhook.Inbound(PhoneNumberId, phone.TrimStart('+'), "wamid.IN" + Guid.NewGuid().ToString("N"), text));
        await Envelope.SuccessAsync(response);
        await Eventually.WaitAsync(async () => await Envelope.SuccessAsync(await Api.GetAsync("contacts?search=" + Uri.EscapeDataString(phone))),
            d => d.GetProperty("contacts").EnumerateArray().Any(c => c.GetProperty("last_inbound_at").ValueKind == JsonValueKind.String), what: "contact's window opened");
    }
}
