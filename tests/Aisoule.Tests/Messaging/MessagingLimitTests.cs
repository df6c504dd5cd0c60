using Aisoule.Core.WhatsApp;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>The portfolio's messaging-limit tier, read from Meta (or the sandbox's setting), and the cap it sets.</summary>
public sealed class MessagingLimitTests : IAsyncLifetime
{
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

    private static ProviderAccount Account(string token = FakeGraphApi.Token) => new("ws", "acc", "106540352242922", "waba1", token);

    [Theory]
    [InlineData("TIER_250", 250)]
    [InlineData("TIER_2K", 2_000)]
    [InlineData("TIER_10K", 10_000)]
    [InlineData("TIER_100K", 100_000)]
    [InlineData("TIER_UNLIMITED", null)]
    [InlineData("TIER_1M", null)]
    [InlineData(null, null)]
    [InlineData("tier_250", null)]
    public void Each_tier_caps_unique_recipients_at_its_size_and_unlimited_or_unknown_ones_cap_nothing(string? tier, int? cap)
    {
        Assert.Equal(cap, MessagingTiers.CapOf(tier));
    }

    [Fact]
    public async Task The_cloud_provider_reads_the_tier_meta_reports_for_the_number_and_maps_it_to_a_cap()
    {
        var cloud = _host.Services.GetRequiredService<CloudWhatsAppProvider>();

        foreach (var (tier, cap) in new[] { ("TIER_250", (int?)250), ("TIER_100K", 100_000), ("TIER_UNLIMITED", null) })
        {
            _graph.MessagingLimit = tier;
            var limit = await cloud.GetMessagingLimitAsync(Account());
            Assert.Equal(new MessagingLimitResult(tier, cap, null), limit);
        }
    }

    [Fact]
    public async Task A_tier_meta_has_not_announced_yet_caps_nothing_and_is_logged()
    {
        _graph.MessagingLimit = "TIER_1M";

        var limit = await _host.Services.GetRequiredService<CloudWhatsAppProvider>().GetMessagingLimitAsync(Account());

        Assert.Equal(new MessagingLimitResult("TIER_1M", null, null), limit);
        Assert.Contains(_host.Logs.Entries, e => e.Message.Contains("Unknown messaging-limit tier TIER_1M", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_meta_no_longer_honours_gives_metas_error_and_no_tier()
    {
        var limit = await _host.Services.GetRequiredService<CloudWhatsAppProvider>().GetMessagingLimitAsync(Account("EAAG-revoked"));

        Assert.Null(limit.Tier);
        Assert.Null(limit.Cap);
        Assert.Equal(190, limit.Error?.Code);
        Assert.Equal(401, limit.Error?.HttpStatus);
    }

    [Fact]
    public async Task The_sandbox_reports_the_configured_tier_and_unlimited_by_default()
    {
        await using (var byDefault = await TestHost.StartAsync())
        {
            var limit = await byDefault.Services.GetRequiredService<IWhatsAppProvider>().GetMessagingLimitAsync(Account());
            Assert.Equal(new MessagingLimitResult("TIER_UNLIMITED", null, null), limit);
        }

        await using var capped = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:SandboxMessagingLimit"] = "TIER_250" });
        var provider = capped.Services.GetRequiredService<IWhatsAppProvider>();
        Assert.IsType<SandboxWhatsAppProvider>(provider);
        Assert.Equal(new MessagingLimitResult("TIER_250", 250, null), await provider.GetMessagingLimitAsync(Account()));
    }

    [Fact]
    public async Task A_sandbox_tier_meta_does_not_have_fails_the_start()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:SandboxMessagingLimit"] = "TIER_5" }));
        Assert.Contains("WhatsApp:SandboxMessagingLimit", error.Message, StringComparison.Ordinal);
    }
}
