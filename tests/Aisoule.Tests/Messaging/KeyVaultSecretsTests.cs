using System.Net;
using Aisoule.Core.Messaging;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>With <c>KeyVault:Uri</c> set, access tokens go to Key Vault (a loopback HTTPS fake of its REST API) and nowhere else.</summary>
public sealed class KeyVaultSecretsTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private FakeKeyVault _vault = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _vault = await FakeKeyVault.StartAsync();
        _host = await TestHost.StartAsync(
            new Dictionary<string, string?>(_graph.Settings()) { ["KeyVault:Uri"] = _vault.VaultUri.ToString() },
            services: s => s.AddSingleton(_vault.Client()));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _vault.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task An_account_token_is_kept_only_in_key_vault_and_sends_read_it_from_there()
    {
        var sender = await Sender.CloudAsync(_host);

        var secret = Assert.Single(_vault.Secrets);
        Assert.Equal(FakeGraphApi.Token, secret.Value);
        var local = await _host.Services.GetRequiredService<StorageAccount>().GetTableAsync(MessagingNames.Secrets);
        Assert.Empty(await local.QueryAsync<TableEntity>().ToListAsync());

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        // The fake Graph API accepts only the real token: "sent" means it came back from the vault intact.
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent");
        Assert.True(_vault.Reads >= 1);
        Assert.DoesNotContain(FakeGraphApi.Token, _host.Logs.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_vault_outage_while_adding_an_account_is_a_503_and_adds_nothing()
    {
        var owner = await Infrastructure.Identity.SignUpAsync(_host);
        _vault.Down = true;

        var response = await owner.SendAsync(HttpMethod.Post, "accounts", new { name = "Shop", phone_number_id = "123456789099", waba_id = "99", access_token = FakeGraphApi.Token });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        _vault.Down = false;
        var accounts = await Envelope.SuccessAsync(await owner.SendAsync(HttpMethod.Get, "accounts"));
        Assert.Equal(0, accounts.GetProperty("accounts").GetArrayLength());
        Assert.Empty(_vault.Secrets);
    }

    [Fact]
    public async Task A_key_vault_outage_while_dispatching_leaves_the_send_queued_and_it_is_sent_once_the_vault_is_back()
    {
        // Another instance on the same storage accepts the send (its dispatcher off), so the dispatching instance
        // has never held this account's token and must ask the vault for it.
        await using var front = await TestHost.StartAsync(
            new Dictionary<string, string?>(_graph.Settings()) { ["KeyVault:Uri"] = _vault.VaultUri.ToString(), ["AzureWebJobs.DispatchSend.Disabled"] = "true" },
            prefix: _host.Prefix,
            services: s => s.AddSingleton(_vault.Client()));
        var sender = await Sender.CloudAsync(front);
        await Envelope.SuccessAsync(await sender.Api.PostAsync("templates/sync", new { }));
        _vault.Down = true;

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));
        await Eventually.WaitAsync(() => Task.FromResult(_vault.Refused), r => r > 0, what: "the dispatcher asked the vault");
        Assert.Equal("queued", (await sender.MessageAsync(id)).GetProperty("status").GetString());
        _vault.Down = false;

        // Meta was never called while the token was out of reach, so nothing stands in the way of sending it now.
        // The queue shows the failed attempt's message again after host.json's visibilityTimeout (10 s).
        var sent = await Eventually.WaitAsync(() => sender.MessageAsync(id), Sender.StatusIs("sent", "failed"), TimeSpan.FromSeconds(45), "sent after the outage");
        Assert.Equal("sent", sent.GetProperty("status").GetString());
        Assert.Equal(1, _graph.DeliveredPerMessage[id]);
    }
}
