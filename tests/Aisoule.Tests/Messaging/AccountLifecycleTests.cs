using System.Net;
using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Inbound;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// A Cloud API account's life after it is added: disconnected by Meta and connected again (PUT /accounts/{id},
/// the re-check timer), held sends going out or giving up, removal freeing its number, and no silent default.
/// </summary>
public sealed class AccountLifecycleTests : IAsyncLifetime
{
    private const string NewToken = "EAAG-new-token-9876543210";
    private FakeGraphApi _graph = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _host = await TestHost.StartAsync(_graph.Settings());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task A_disconnected_account_reconnected_with_a_new_token_sends_its_held_message_exactly_once()
    {
        var sender = await SyncedSenderAsync(_host);
        _graph.AcceptedTokens.TryRemove(FakeGraphApi.Token, out _);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        await AccountWhenAsync(sender, "disconnected");

        var refused = await sender.Owner.SendAsync(HttpMethod.Put, "accounts/" + sender.AccountId, new { access_token = "EAAG-wrong-token-000", name = "Renamed" });
        await Envelope.ErrorAsync(refused, HttpStatusCode.UnprocessableEntity, "account_check_failed");
        var unchanged = await AccountAsync(sender);
        Assert.Equal("disconnected", unchanged.GetProperty("status").GetString());
        Assert.Equal("Shop", unchanged.GetProperty("name").GetString());
        Assert.Equal("queued", (await sender.MessageAsync(id)).GetProperty("status").GetString());

        _graph.AcceptedTokens[NewToken] = true;
        var put = await sender.Owner.SendAsync(HttpMethod.Put, "accounts/" + sender.AccountId, new { access_token = NewToken });

        var reconnected = await Envelope.SuccessAsync(put);
        Assert.Equal("connected", reconnected.GetProperty("status").GetString());
        Assert.DoesNotContain(NewToken, reconnected.GetRawText(), StringComparison.Ordinal);
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "held send sent after reconnecting");
        Assert.Equal(1, _graph.DeliveredPerMessage[id]);
        Assert.DoesNotContain(NewToken, _host.Logs.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_changes_name_throughput_and_default_and_refuses_bad_fields_naming_them()
    {
        var sender = await Sender.CloudAsync(_host);
        var path = "accounts/" + sender.AccountId;

        var changed = await Envelope.SuccessAsync(await sender.Owner.SendAsync(HttpMethod.Put, path, new { name = "Front desk", throughput_mps = 20, is_default = false }));

        Assert.Equal("Front desk", changed.GetProperty("name").GetString());
        Assert.Equal(20, changed.GetProperty("throughput_mps").GetInt32());
        Assert.False(changed.GetProperty("is_default").GetBoolean());
        Assert.Equal("connected", changed.GetProperty("status").GetString());
        var tooFast = await Envelope.ErrorAsync(await sender.Owner.SendAsync(HttpMethod.Put, path, new { throughput_mps = 0 }), HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(tooFast.GetProperty("errors").TryGetProperty("throughput_mps", out _));
        var shortToken = await Envelope.ErrorAsync(await sender.Owner.SendAsync(HttpMethod.Put, path, new { access_token = "x" }), HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(shortToken.GetProperty("errors").TryGetProperty("access_token", out _));
        await Envelope.ErrorAsync(await sender.Owner.SendAsync(HttpMethod.Put, path, new { phone_number_id = "1" }), HttpStatusCode.BadRequest, "validation_failed");
        await Envelope.ErrorAsync(await sender.Owner.SendAsync(HttpMethod.Put, path, new { name = "x" }, csrf: false), HttpStatusCode.Forbidden, "csrf_failed");
        await Envelope.ErrorAsync(await sender.Api.PutAsync(path, new { name = "x" }), HttpStatusCode.Forbidden, "session_required");
        await Envelope.ErrorAsync(await sender.Owner.SendAsync(HttpMethod.Put, "accounts/wa_0123456789abcdef0123456789abcdef", new { name = "x" }), HttpStatusCode.NotFound, "not_found");
        Assert.Equal("Front desk", (await AccountAsync(sender)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task The_sandbox_account_takes_no_access_token()
    {
        await using var host = await TestHost.StartAsync();
        var sender = await Sender.SandboxAsync(host);

        var refused = await sender.Owner.SendAsync(HttpMethod.Put, "accounts/" + sender.AccountId, new { access_token = NewToken });

        var body = await Envelope.ErrorAsync(refused, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(body.GetProperty("errors").TryGetProperty("access_token", out _));
        Assert.Equal("connected", (await AccountAsync(sender)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_recheck_timer_reconnects_an_account_whose_stored_token_works_again_and_its_held_send_goes_out_once()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["AccountRecheckSchedule"] = "*/1 * * * * *" });
        var sender = await SyncedSenderAsync(host);
        _graph.AcceptedTokens.TryRemove(FakeGraphApi.Token, out _);
        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        await AccountWhenAsync(sender, "disconnected");

        // Meta honours the stored token again (a lifted restriction, a token re-enabled in Business Manager).
        _graph.AcceptedTokens[FakeGraphApi.Token] = true;

        await AccountWhenAsync(sender, "connected");
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "held send sent after the re-check");
        Assert.Equal(1, _graph.DeliveredPerMessage[id]);
    }

    [Fact]
    public async Task A_send_held_longer_than_the_maximum_fails_with_account_disconnected_instead_of_waiting_forever()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["WhatsApp:MaxDisconnectedHold"] = "00:00:03" });
        var sender = await SyncedSenderAsync(host);
        _graph.AcceptedTokens.TryRemove(FakeGraphApi.Token, out _);

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        var failed = await sender.MessageWhenAsync(id, Sender.StatusIs("failed"), "failed after the longest hold");
        Assert.Equal("account_disconnected", failed.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("Account disconnected", failed.GetProperty("error").GetProperty("title").GetString());
        Assert.Equal("disconnected", (await AccountAsync(sender)).GetProperty("status").GetString());
        Assert.Single(_graph.Sends);
    }

    [Fact]
    public async Task Removing_an_account_frees_its_number_inbound_no_longer_reaches_the_old_workspace_and_another_can_add_it()
    {
        var first = await Sender.CloudAsync(_host);
        await Envelope.SuccessAsync(await first.Owner.SendAsync(HttpMethod.Delete, "accounts/" + first.AccountId));

        // Processed to the end before looking: the old workspace must not have gained a contact.
        var early = Sender.NewPhone();
        await _host.Services.GetRequiredService<InboundProcessor>().ProcessAsync(ChangeOf(MetaWebhook.Inbound(first.PhoneNumberId, early.TrimStart('+'), "wamid.IN" + Guid.NewGuid().ToString("N"), "Hi")), default);
        Assert.Equal(0, (await Envelope.SuccessAsync(await first.Api.GetAsync("contacts"))).GetProperty("total").GetInt32());

        var owner = await Infrastructure.Identity.SignUpAsync(_host);
        var added = await owner.SendAsync(HttpMethod.Post, "accounts", new { name = "New shop", phone_number_id = first.PhoneNumberId, waba_id = "102290129340398", access_token = FakeGraphApi.Token, is_default = true });
        var account = await Envelope.SuccessAsync(added, HttpStatusCode.Created);
        var second = new Sender(_host, owner, await owner.CreateKeyAsync(), account.GetProperty("id").GetString()!, first.PhoneNumberId);

        var later = Sender.NewPhone();
        await second.InboundFromAsync(later);
        Assert.Equal(0, (await Envelope.SuccessAsync(await first.Api.GetAsync("contacts"))).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task A_number_another_workspace_is_adding_right_now_is_not_taken()
    {
        // Another workspace's add has claimed the number and not yet written its account row.
        var phoneNumberId = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var pointers = await _host.Services.GetRequiredService<Aisoule.Core.Storage.StorageAccount>().GetTableAsync(MessagingNames.PhoneNumbers);
        await pointers.AddEntityAsync(new PhoneNumberEntity { PartitionKey = phoneNumberId, WorkspaceId = "ws_other", AccountId = "wa_0123456789abcdef0123456789abcdef" });
        var owner = await Infrastructure.Identity.SignUpAsync(_host);

        var added = await owner.SendAsync(HttpMethod.Post, "accounts", new { name = "Mine?", phone_number_id = phoneNumberId, waba_id = "102290129340398", access_token = FakeGraphApi.Token });

        await Envelope.ErrorAsync(added, HttpStatusCode.Conflict, "account_exists");
    }

    [Fact]
    public async Task Removing_the_default_account_never_sends_from_another_number_until_a_default_is_chosen()
    {
        var sender = await Sender.CloudAsync(_host);
        var other = await Envelope.SuccessAsync(await sender.Owner.SendAsync(HttpMethod.Post, "accounts", new
        {
            name = "Second",
            phone_number_id = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            waba_id = "102290129340398",
            access_token = FakeGraphApi.Token,
        }), HttpStatusCode.Created);
        var otherId = other.GetProperty("id").GetString()!;
        Assert.False(other.GetProperty("is_default").GetBoolean());

        await Envelope.SuccessAsync(await sender.Owner.SendAsync(HttpMethod.Delete, "accounts/" + sender.AccountId));

        await Envelope.ErrorAsync(await sender.SendTemplateAsync(Sender.NewPhone()), HttpStatusCode.UnprocessableEntity, "no_default_account");
        var named = await sender.SendAsync(new { to = Sender.NewPhone(), type = "template", template = new { name = "hello_world", language = "en_US" }, whatsapp_account_id = sender.AccountId });
        await Envelope.ErrorAsync(named, HttpStatusCode.UnprocessableEntity, "account_disconnected");
        Assert.Empty(_graph.Sends);

        await Envelope.SuccessAsync(await sender.Owner.SendAsync(HttpMethod.Put, "accounts/" + otherId, new { is_default = true }));

        var accepted = await Envelope.SuccessAsync(await sender.SendTemplateAsync(Sender.NewPhone()), HttpStatusCode.Accepted);
        Assert.Equal(otherId, accepted.GetProperty("whatsapp_account_id").GetString());
    }

    [Fact]
    public async Task A_workspaces_first_account_added_without_is_default_is_its_default()
    {
        var owner = await Infrastructure.Identity.SignUpAsync(_host);

        var added = await owner.SendAsync(HttpMethod.Post, "accounts", new
        {
            name = "Only",
            phone_number_id = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            waba_id = "102290129340398",
            access_token = FakeGraphApi.Token,
        });

        Assert.True((await Envelope.SuccessAsync(added, HttpStatusCode.Created)).GetProperty("is_default").GetBoolean());
    }

    [Fact]
    public async Task Removing_an_account_stops_listing_its_templates_and_its_removed_view_is_not_the_default()
    {
        var sender = await SyncedSenderAsync(_host);

        var removed = await Envelope.SuccessAsync(await sender.Owner.SendAsync(HttpMethod.Delete, "accounts/" + sender.AccountId));

        Assert.Equal("removed", removed.GetProperty("status").GetString());
        Assert.False(removed.GetProperty("is_default").GetBoolean());
        var templates = await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"));
        Assert.Equal(0, templates.GetProperty("templates").GetArrayLength());
        var named = await Envelope.SuccessAsync(await sender.Api.GetAsync("templates?whatsapp_account_id=" + sender.AccountId));
        Assert.Equal(0, named.GetProperty("templates").GetArrayLength());
    }

    [Fact]
    public async Task An_account_added_after_the_default_was_removed_has_its_templates_pulled_at_once_and_sends_with_them()
    {
        var first = await SyncedSenderAsync(_host);
        await Envelope.SuccessAsync(await first.Owner.SendAsync(HttpMethod.Delete, "accounts/" + first.AccountId));
        var before = _graph.TemplateListRequests.Count;

        var added = await Envelope.SuccessAsync(await first.Owner.SendAsync(HttpMethod.Post, "accounts", new
        {
            name = "Second",
            phone_number_id = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            waba_id = "102290129340398",
            access_token = FakeGraphApi.Token,
        }), HttpStatusCode.Created);

        var secondId = added.GetProperty("id").GetString()!;
        Assert.True(added.GetProperty("is_default").GetBoolean());
        Assert.True(_graph.TemplateListRequests.Count > before, "the new account's templates were pulled when it was added");
        var templates = (await Envelope.SuccessAsync(await first.Api.GetAsync("templates"))).GetProperty("templates").EnumerateArray().ToList();
        Assert.Equal(_graph.Templates.Count, templates.Count);
        Assert.All(templates, t => Assert.Equal(secondId, t.GetProperty("whatsapp_account_id").GetString()));
        var accepted = await Envelope.SuccessAsync(await first.SendTemplateAsync(Sender.NewPhone()), HttpStatusCode.Accepted);
        Assert.Equal(secondId, accepted.GetProperty("whatsapp_account_id").GetString());
    }

    [Fact]
    public async Task A_new_token_pulls_the_accounts_templates_at_once()
    {
        var sender = await SyncedSenderAsync(_host);
        _graph.Templates.Add(new { id = "1004", name = "autumn_sale", language = "en_US", category = "MARKETING", status = "APPROVED", components = Array.Empty<object>() });
        _graph.AcceptedTokens[NewToken] = true;

        await Envelope.SuccessAsync(await sender.Owner.SendAsync(HttpMethod.Put, "accounts/" + sender.AccountId, new { access_token = NewToken }));

        var templates = (await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"))).GetProperty("templates").EnumerateArray();
        Assert.Contains(templates, t => t.GetProperty("name").GetString() == "autumn_sale");
    }

    [Fact]
    public async Task A_send_naming_a_template_not_yet_known_for_its_account_pulls_once_and_unknown_names_cannot_hammer_meta()
    {
        var sender = await SyncedSenderAsync(_host);
        _graph.Templates.Add(new { id = "1004", name = "autumn_sale", language = "en_US", category = "MARKETING", status = "APPROVED", components = Array.Empty<object>() });

        await Envelope.SuccessAsync(await sender.SendTemplateAsync(Sender.NewPhone(), "autumn_sale"), HttpStatusCode.Accepted);

        var before = _graph.TemplateListRequests.Count;
        for (var i = 0; i < 3; i++)
        {
            await Envelope.ErrorAsync(await sender.SendTemplateAsync(Sender.NewPhone(), "no_such_template"), HttpStatusCode.UnprocessableEntity, "template_not_approved");
        }

        Assert.Equal(before, _graph.TemplateListRequests.Count);
    }

    [Fact]
    public async Task An_account_whose_template_pull_fails_is_still_added_and_its_first_send_pulls_them()
    {
        _graph.EndlessPaging = true;
        var sender = await Sender.CloudAsync(_host);
        _graph.EndlessPaging = false;

        var accepted = await Envelope.SuccessAsync(await sender.SendTemplateAsync(Sender.NewPhone()), HttpStatusCode.Accepted);

        Assert.Equal(sender.AccountId, accepted.GetProperty("whatsapp_account_id").GetString());
    }

    /// <summary>A Cloud API sender whose templates were read while Meta still honoured its token.</summary>
    [Fact]
    public async Task Core_adds_an_account_with_its_templates_pulls_them_again_on_a_new_token_and_forgets_them_on_removal()
    {
        var lifecycle = _host.Services.GetRequiredService<AccountLifecycle>();
        var workspace = "ws_" + Guid.NewGuid().ToString("N");
        var phoneNumberId = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

        var added = await lifecycle.AddAsync(workspace, new NewAccount("Shop", phoneNumberId, "102290129340398", FakeGraphApi.Token, 80, true));
        var id = added.Value!.RowKey;
        var pulledOnAdd = await StoredTemplatesAsync(workspace, id);
        _graph.Templates.Add(new { id = "1005", name = "winter_sale", language = "en_US", category = "MARKETING", status = "APPROVED", components = Array.Empty<object>() });
        _graph.AcceptedTokens[NewToken] = true;
        await lifecycle.UpdateAsync(workspace, id, new AccountChange(null, NewToken, null, null));
        var pulledOnNewToken = await StoredTemplatesAsync(workspace, id);
        await lifecycle.RemoveAsync(workspace, id);

        Assert.NotEmpty(pulledOnAdd);
        Assert.DoesNotContain("winter_sale", pulledOnAdd);
        Assert.Contains("winter_sale", pulledOnNewToken);
        Assert.Empty(await StoredTemplatesAsync(workspace, id));
    }

    private async Task<List<string>> StoredTemplatesAsync(string workspaceId, string accountId)
    {
        var table = await _host.Services.GetRequiredService<Aisoule.Core.Storage.StorageAccount>().GetTableAsync(MessagingNames.Templates);
        var names = new List<string>();
        await foreach (var row in table.QueryAsync<Azure.Data.Tables.TableEntity>(Azure.Data.Tables.TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId} and AccountId eq {accountId}")))
        {
            names.Add(row.GetString("Name"));
        }

        return names;
    }

    private static async Task<Sender> SyncedSenderAsync(TestHost host)
    {
        var sender = await Sender.CloudAsync(host);
        Assert.NotEqual(0, (await Envelope.SuccessAsync(await sender.Api.GetAsync("templates"))).GetProperty("templates").GetArrayLength());
        return sender;
    }

    private static async Task<JsonElement> AccountAsync(Sender sender) =>
        (await Envelope.SuccessAsync(await sender.Api.GetAsync("accounts"))).GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("id").GetString() == sender.AccountId);

    private static Task<JsonElement> AccountWhenAsync(Sender sender, string status) =>
        Eventually.WaitAsync(() => AccountAsync(sender), a => a.GetProperty("status").GetString() == status, what: "account " + status);

    /// <summary>The one change in a webhook body, as the inbound queue carries it.</summary>
    private static string ChangeOf(string webhookBody) =>
        JsonDocument.Parse(webhookBody).RootElement.GetProperty("entry")[0].GetProperty("changes")[0].GetProperty("value").GetRawText();
}
