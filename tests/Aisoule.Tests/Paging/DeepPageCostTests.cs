using System.Net;
using System.Text.Json;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Aisoule.Tests.Paging;

/// <summary>
/// What a deep <c>page=N</c> reads from Table Storage, recorded at the SDK's HTTP pipeline: the rows it skips are
/// read keys-only (<c>$select=RowKey</c>), and only the page's own rows are read whole.
/// </summary>
public sealed class DeepPageCostTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_deep_contacts_page_reads_the_skipped_contacts_keys_only_and_only_its_own_rows_whole()
    {
        var owner = await Infrastructure.Identity.SignUpAsync(_host);
        var api = new KeyClient(_host.Client, await owner.CreateKeyAsync());
        var fields = new { notes = new string('x', 2000), plan = "gold" };
        await Envelope.SuccessAsync(await api.PostAsync("contacts/bulk", new
        {
            contacts = Enumerable.Range(0, 35).Select(i => new { phone_number = $"+1207555{i:D4}", name = $"Deep {i}", custom_fields = fields }),
        }));
        var overHttp = await Envelope.SuccessAsync(await api.GetAsync("contacts?page=3&per_page=10"));
        var recorder = new TableRequestRecorder();
        var lister = new ContactLister(recorder.Storage(_host));

        var listed = await lister.ListAsync(owner.WorkspaceId, new ContactFilter(), page: 3, perPage: 10, cursor: null);

        var page = listed.Value!;
        Assert.Null(listed.Error);
        Assert.Equal(Ids(overHttp, "contacts", "id"), page.Contacts.Select(c => c.Id));
        Assert.Equal(35, page.Total);
        Assert.Equal(10, page.Contacts.Count);
        // The page and one more (to know whether a next page exists): never the 20 skipped contacts' fields.
        Assert.True(recorder.WholeEntities <= 11, $"Read {recorder.WholeEntities} whole rows for a page of 10:\n{recorder}");
        Assert.Contains(recorder.Requests, r => r.KeysOnly && r.Entities >= 20);
    }

    [Fact]
    public async Task A_deep_messages_page_reads_the_skipped_messages_keys_only_and_only_its_own_rows_whole()
    {
        var sender = await Sender.SandboxAsync(_host);
        await Task.WhenAll(Enumerable.Range(0, 24).Select(async _ => await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()))));
        var all = await Envelope.SuccessAsync(await sender.Api.GetAsync("messages?per_page=100"));
        var recorder = new TableRequestRecorder();
        var storage = recorder.Storage(_host);
        var services = _host.Services;
        var messages = new MessageLister(storage, new MessageStore(storage, TimeProvider.System));

        var page = await messages.ListAsync(sender.Owner.WorkspaceId, contactId: null, status: null, page: 3, perPage: 5, CancellationToken.None);

        Assert.Equal(Ids(all, "messages", "message_id").Skip(10).Take(5), page.Messages.Select(m => m.MessageId));
        Assert.Equal(24, page.Total);
        Assert.True(recorder.WholeEntities <= 5, $"Read {recorder.WholeEntities} whole rows for a page of 5:\n{recorder}");
        Assert.True(recorder.Requests.Where(r => r.KeysOnly).Sum(r => r.Entities) >= 15, recorder.ToString());
    }

    private static IEnumerable<string> Ids(JsonElement page, string list, string id) =>
        page.GetProperty(list).EnumerateArray().Select(c => c.GetProperty(id).GetString()!);

    /// <summary>Each table request the SDK sends, with how many entities came back and whether they were projected.</summary>
    private sealed class TableRequestRecorder : HttpPipelinePolicy
    {
        private readonly List<Recorded> _requests = [];

        public IReadOnlyList<Recorded> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        /// <summary>Entities read with every property: those of requests without <c>$select</c>.</summary>
        public int WholeEntities => Requests.Where(r => r.Select is null).Sum(r => r.Entities);

        public StorageAccount Storage(TestHost host)
        {
            var options = new TableClientOptions();
            options.AddPolicy(this, HttpPipelinePosition.PerCall);
            return new StorageAccount(
                new TableServiceClient(host.ConnectionString, options),
                new QueueServiceClient(host.ConnectionString),
                Options.Create(new StorageOptions { ConnectionString = host.ConnectionString, Prefix = host.Prefix }));
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            Record(message);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            Record(message);
        }

        public override string ToString() => string.Join('\n', Requests.Select(r => $"{r.Entities} entities, $select={r.Select}: {r.Uri}"));

        private void Record(HttpMessage message)
        {
            var uri = Uri.UnescapeDataString(message.Request.Uri.ToString());
            var select = System.Web.HttpUtility.ParseQueryString(message.Request.Uri.ToUri().Query)["$select"];
            var entities = 0;
            if (message.Request.Method == RequestMethod.Get && message.Response.Status == (int)HttpStatusCode.OK && message.Response.Content.ToMemory().Length > 0)
            {
                using var body = JsonDocument.Parse(message.Response.Content.ToMemory());
                entities = body.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Array ? value.GetArrayLength() : 1;
            }

            lock (_requests)
            {
                _requests.Add(new Recorded(uri, select, entities));
            }
        }
    }

    private sealed record Recorded(string Uri, string? Select, int Entities)
    {
        public bool KeysOnly => Select == "RowKey";
    }
}
