using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Xunit;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

/// <summary>Who a campaign goes to: tags, stage and listed ids resolved once into a frozen list, opted-out contacts skipped.</summary>
public sealed class CampaignAudienceTests : IAsyncLifetime
{
    private static readonly object Hello = new { name = "hello_world", language = "en_US" };

    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The same few contacts in every audience test: tags and stages that overlap.</summary>
    private sealed record People(string VipNewsLead, string VipCustomer, string NewsLead, string LeadOnly, string OtherTag, string Nobody);

    private static async Task<People> PeopleAsync(Sender sender) => new(
        await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "vip", "news" }, stage = "lead" }),
        await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "vip" }, stage = "customer" }),
        await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "news" }, stage = "lead" }),
        await ContactAsync(sender, new { phone_number = Sender.NewPhone(), stage = "lead" }),
        await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "other" } }),
        await ContactAsync(sender, new { phone_number = Sender.NewPhone() }));

    private static async Task<List<string>> RecipientsOfAsync(Sender sender, object audience)
    {
        var id = Id(await CreateAsync(sender, new { name = "Audience", template = Hello, audience }));
        var done = await WaitForStatusAsync(sender, id, "completed");
        var recipients = await RecipientsAsync(sender, id);
        Assert.Equal(recipients.Count, Stat(done, "total"));
        Assert.Equal(recipients.Count, recipients.Select(r => r.GetProperty("message_id").GetString()).Distinct().Count());
        return ContactIds(recipients);
    }

    [Fact]
    public async Task Contact_matching_two_tags_and_listed_by_id_is_planned_once()
    {
        var sender = await Sender.SandboxAsync(_host);
        var p = await PeopleAsync(sender);

        var recipients = await RecipientsOfAsync(sender, new { tags = new[] { "vip", "news" }, contact_ids = new[] { p.VipNewsLead, p.OtherTag, p.VipNewsLead } });

        Assert.Equal(new[] { p.VipNewsLead, p.VipCustomer, p.NewsLead, p.OtherTag }.Order(StringComparer.Ordinal), recipients);
    }

    [Fact]
    public async Task Tags_with_a_stage_select_only_the_tagged_contacts_in_that_stage()
    {
        var sender = await Sender.SandboxAsync(_host);
        var p = await PeopleAsync(sender);

        var recipients = await RecipientsOfAsync(sender, new { tags = new[] { "vip", "news" }, stage = "lead" });

        Assert.Equal(new[] { p.VipNewsLead, p.NewsLead }.Order(StringComparer.Ordinal), recipients);
    }

    [Fact]
    public async Task Stage_alone_selects_every_contact_in_the_stage()
    {
        var sender = await Sender.SandboxAsync(_host);
        var p = await PeopleAsync(sender);

        var recipients = await RecipientsOfAsync(sender, new { stage = "LEAD" });

        Assert.Equal(new[] { p.VipNewsLead, p.NewsLead, p.LeadOnly }.Order(StringComparer.Ordinal), recipients);
    }

    [Fact]
    public async Task Listed_ids_are_added_to_the_tag_and_stage_match_and_a_deleted_one_is_skipped_as_not_found()
    {
        var sender = await Sender.SandboxAsync(_host);
        var p = await PeopleAsync(sender);
        var gone = await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "vip" } });
        await Envelope.SuccessAsync(await sender.Api.DeleteAsync("contacts/" + gone));

        var id = Id(await CreateAsync(sender, new { name = "Union", template = Hello, audience = new { tags = new[] { "vip" }, stage = "lead", contact_ids = new[] { p.VipCustomer, p.Nobody, gone } } }));
        var done = await WaitForStatusAsync(sender, id, "completed");

        var recipients = await RecipientsAsync(sender, id);
        Assert.Equal(new[] { p.VipNewsLead, p.VipCustomer, p.Nobody, gone }.Order(StringComparer.Ordinal), ContactIds(recipients));
        var skipped = Assert.Single(recipients, r => r.GetProperty("status").GetString() == "skipped");
        Assert.Equal(gone, skipped.GetProperty("contact_id").GetString());
        Assert.Equal("contact_not_found", skipped.GetProperty("skip_reason").GetString());
        Assert.Equal(4, Stat(done, "total"));
        Assert.Equal(1, Stat(done, "skipped"));
        Assert.Equal(1, Skipped(done, "contact_not_found"));
    }

    [Fact]
    public async Task Contact_created_after_the_campaign_started_is_not_a_recipient()
    {
        // This instance takes requests but runs no campaign steps: the list is planned only once the second instance
        // starts, after every contact below exists, so only the start time can keep the late contact out.
        await using var front = await TestHost.StartAsync(new Dictionary<string, string?> { ["AzureWebJobs.RunCampaignStep.Disabled"] = "true", ["AzureWebJobs.WatchCampaigns.Disabled"] = "true" });
        var sender = await Sender.SandboxAsync(front);
        var early = await ContactsAsync(sender, 5, ["late"]);
        var scheduled = await CreateAsync(sender, new { name = "Freeze", template = Hello, audience = new { tags = new[] { "late" } }, scheduled_at = Utc(DateTimeOffset.UtcNow.AddHours(1)) });
        var id = Id(scheduled);
        Assert.Equal("scheduled", scheduled.GetProperty("status").GetString());
        var beforeStart = await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "late" } });

        var started = await Envelope.SuccessAsync(await PatchAsync(sender, id, new { scheduled_at = Utc(DateTimeOffset.UtcNow.AddMinutes(-1)) }));
        var afterStart = await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "late" } });
        await using var worker = await TestHost.StartAsync(prefix: front.Prefix);

        Assert.Equal("running", started.GetProperty("status").GetString());
        var done = await WaitForStatusAsync(sender, id, "completed");
        Assert.Equal(early.Append(beforeStart).Order(StringComparer.Ordinal), ContactIds(await RecipientsAsync(sender, id)));
        Assert.Equal(6, Stat(done, "total"));
        Assert.Contains(afterStart, await ListIdsAsync(sender, "late"));
    }

    [Fact]
    public async Task Contact_created_right_after_a_campaign_was_created_running_is_not_a_recipient()
    {
        await using var front = await TestHost.StartAsync(new Dictionary<string, string?> { ["AzureWebJobs.RunCampaignStep.Disabled"] = "true", ["AzureWebJobs.WatchCampaigns.Disabled"] = "true" });
        var sender = await Sender.SandboxAsync(front);
        var early = await ContactsAsync(sender, 5, ["now"]);
        var created = await CreateAsync(sender, new { name = "Now", template = Hello, audience = new { tags = new[] { "now" } } });
        var late = await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "now" } });
        await using var worker = await TestHost.StartAsync(prefix: front.Prefix);

        Assert.Equal("running", created.GetProperty("status").GetString());
        await WaitForStatusAsync(sender, Id(created), "completed");
        var recipients = ContactIds(await RecipientsAsync(sender, Id(created)));
        Assert.Equal(early.Order(StringComparer.Ordinal), recipients);
        Assert.DoesNotContain(late, recipients);
    }

    [Fact]
    public async Task Opted_out_contact_is_skipped_for_a_marketing_template_and_counted()
    {
        var sender = await Sender.SandboxAsync(_host);
        var optedIn = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            optedIn.Add(await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "spring" } }));
        }

        var optedOut = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            optedOut.Add(await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "spring" }, opted_in = false }));
        }

        var sale = new { name = "spring_sale", language = "en_US", components = new[] { new { type = "body", parameters = new[] { new { type = "text", text = "20%" } } } } };
        var marketing = Id(await CreateAsync(sender, new { name = "Sale", template = sale, audience = new { tags = new[] { "spring" } } }));
        var done = await WaitForStatusAsync(sender, marketing, "completed");

        Assert.Equal("MARKETING", done.GetProperty("template").GetProperty("category").GetString());
        Assert.Equal(6, Stat(done, "total"));
        Assert.Equal(2, Stat(done, "skipped"));
        Assert.Equal(2, Skipped(done, "opted_out"));
        var skipped = await RecipientsAsync(sender, marketing, "&status=skipped");
        Assert.Equal(optedOut.Order(StringComparer.Ordinal), ContactIds(skipped));
        Assert.All(skipped, r => Assert.Equal("opted_out", r.GetProperty("skip_reason").GetString()));
        Assert.All(skipped, r => Assert.Equal(System.Text.Json.JsonValueKind.Null, r.GetProperty("message_id").ValueKind));
        var all = await RecipientsAsync(sender, marketing);
        Assert.Equal(optedIn.Order(StringComparer.Ordinal), ContactIds(all.Where(r => r.GetProperty("status").GetString() != "skipped")));

        // A utility template still goes to them.
        var utility = Id(await CreateAsync(sender, new { name = "Notice", template = Hello, audience = new { tags = new[] { "spring" } } }));
        var noticed = await WaitForStatusAsync(sender, utility, "completed");
        Assert.Equal(6, Stat(noticed, "total"));
        Assert.Equal(0, Stat(noticed, "skipped"));
        Assert.Equal(optedIn.Concat(optedOut).Order(StringComparer.Ordinal), ContactIds(await RecipientsAsync(sender, utility)));
    }
}
