using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Xunit;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

public sealed class CampaignFlowTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Campaign_to_a_tag_sends_each_contact_once_and_completes_with_exact_stats()
    {
        var sender = await Sender.SandboxAsync(_host);
        var ids = await ContactsAsync(sender, 40, ["vip"]);
        var created = await CreateAsync(sender, new { name = "Launch", template = new { name = "hello_world", language = "en_US" }, audience = new { tags = new[] { "vip" } } });
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal("running", created.GetProperty("status").GetString());

        var done = await WaitForStatusAsync(sender, id, "completed");
        Assert.Equal(40, Stat(done, "total"));
        var read = await Eventually.WaitAsync(() => GetAsync(sender, id), c => Stat(c, "read") == 40, TimeSpan.FromSeconds(30), "all read");
        Assert.Equal(0, Stat(read, "queued"));
        var recipients = await RecipientsAsync(sender, id);
        Assert.Equal(ids.Order(), recipients.Select(r => r.GetProperty("contact_id").GetString()!).Order());
        Assert.All(recipients, r => Assert.Equal("read", r.GetProperty("status").GetString()));
        Assert.Equal(40, recipients.Select(r => r.GetProperty("message_id").GetString()).Distinct().Count());
    }
}
