using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Xunit;
using static Aisoule.Tests.Campaigns.CampaignHelpers;

namespace Aisoule.Tests.Campaigns;

/// <summary><c>POST /campaigns</c> and the reads: what is refused and why, the dry run, Idempotency-Key, the recipient list's paging.</summary>
public sealed class CampaignRequestTests : IAsyncLifetime
{
    private const string Hello = """{"name":"hello_world","language":"en_US"}""";

    private static readonly object HelloTemplate = new { name = "hello_world", language = "en_US" };

    private static readonly object Sale = new { name = "spring_sale", language = "en_US", components = new[] { new { type = "body", parameters = new[] { new { type = "text", text = "20%" } } } } };

    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static async Task<long> TotalAsync(Sender sender) =>
        (await Envelope.SuccessAsync(await sender.Api.GetAsync("campaigns"))).GetProperty("total").GetInt64();

    private static string Later() => Utc(DateTimeOffset.UtcNow.AddHours(1));

    [Fact]
    public async Task Unapproved_template_wrong_language_or_parameter_count_is_422_at_creation()
    {
        var sender = await Sender.SandboxAsync(_host);
        await ContactsAsync(sender, 3, ["t"]);
        var audience = new { tags = new[] { "t" } };
        object Body(object template, bool dryRun = false) => new { name = "T", template, audience, dry_run = dryRun };
        static object Text(params string[] values) => new[] { new { type = "body", parameters = values.Select(v => new { type = "text", text = v }).ToArray() } };

        await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", Body(new { name = "new_offer", language = "en_US" })), HttpStatusCode.UnprocessableEntity, "template_not_approved");
        await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", Body(new { name = "new_offer", language = "en_US" }, dryRun: true)), HttpStatusCode.UnprocessableEntity, "template_not_approved");
        await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", Body(new { name = "hello_world", language = "pt_BR" })), HttpStatusCode.UnprocessableEntity, "template_not_approved");
        await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", Body(new { name = "no_such_template", language = "en_US" })), HttpStatusCode.UnprocessableEntity, "template_not_approved");
        var none = await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", Body(new { name = "spring_sale", language = "en_US" })), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", Body(new { name = "spring_sale", language = "en_US", components = Text("20%", "extra") })), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", Body(new { name = "hello_world", language = "en_US", components = Text("unexpected") })), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");
        await Envelope.ErrorAsync(await sender.Api.PostAsync("campaigns", Body(new { name = "order_confirmation", language = "en_US", components = Text("Pablo", "860198") })), HttpStatusCode.UnprocessableEntity, "template_parameters_mismatch");

        Assert.True(none.GetProperty("errors").TryGetProperty("template.components", out _), none.ToString());
        Assert.Equal(0, await TotalAsync(sender));
        var (campaignRows, recipientRows) = await StoredAsync(sender);
        Assert.Empty(campaignRows);
        Assert.Empty(recipientRows);
        var ok = await CreateAsync(sender, Body(new { name = "spring_sale", language = "en_US", components = Text("20%") }));
        Assert.Equal("running", ok.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Dry_run_reports_audience_skips_eta_and_headroom_and_writes_nothing()
    {
        var sender = await Sender.SandboxAsync(_host);
        var tagged = await ContactsAsync(sender, 10, ["dry"], i => new { phone_number = Sender.NewPhone(), name = $"Dry {i}", tags = new[] { "dry" }, opted_in = i >= 2 });
        var gone = await ContactAsync(sender, new { phone_number = Sender.NewPhone() });
        await Envelope.SuccessAsync(await sender.Api.DeleteAsync("contacts/" + gone));
        var account = (await Envelope.SuccessAsync(await sender.Api.GetAsync("accounts"))).GetProperty("accounts")[0];

        var plan = await Envelope.SuccessAsync(await sender.Api.PostAsync("campaigns", new { name = "Dry", template = Sale, audience = new { tags = new[] { "dry" }, contact_ids = new[] { tagged[3], gone } }, dry_run = true }));

        Assert.Equal(11, plan.GetProperty("audience").GetInt64());
        Assert.Equal(8, plan.GetProperty("sendable").GetInt64());
        Assert.Equal(3, plan.GetProperty("skipped").GetInt64());
        Assert.Equal(2, plan.GetProperty("skipped_by_reason").GetProperty("opted_out").GetInt64());
        Assert.Equal(1, plan.GetProperty("skipped_by_reason").GetProperty("contact_not_found").GetInt64());
        var mps = account.GetProperty("throughput_mps").GetInt32();
        Assert.Equal(mps, plan.GetProperty("throughput_mps").GetInt32());
        var seconds = plan.GetProperty("estimated_seconds").GetDouble();
        Assert.InRange(seconds, 8.0 / mps, 8.0 / mps * 1.2 + 0.1);
        var limit = plan.GetProperty("messaging_limit");
        foreach (var field in new[] { "tier", "cap", "used24h", "headroom", "out_of_window", "would_pause" })
        {
            Assert.True(limit.TryGetProperty(field, out _), $"messaging_limit.{field} missing: {limit}");
        }

        Assert.Equal(8, limit.GetProperty("out_of_window").GetInt64());
        Assert.Equal(0, await TotalAsync(sender));
        Assert.Empty((await Envelope.SuccessAsync(await sender.Api.GetAsync("campaigns"))).GetProperty("campaigns").EnumerateArray());
        var (campaignRows, recipientRows) = await StoredAsync(sender);
        Assert.Empty(campaignRows);
        Assert.Empty(recipientRows);
    }

    [Fact]
    public async Task Dry_run_reports_the_headroom_left_under_the_messaging_limit_and_whether_it_would_pause()
    {
        await using var capped = await TestHost.StartAsync(new Dictionary<string, string?> { ["WhatsApp:SandboxMessagingLimit"] = "TIER_250" });
        var sender = await Sender.SandboxAsync(capped);
        await ContactsAsync(sender, 245, ["many"]);
        var first = await ContactsAsync(sender, 10, ["first"]);
        var phone = Sender.NewPhone();
        await sender.InboundFromAsync(phone);
        var inWindow = (await Envelope.SuccessAsync(await sender.Api.GetAsync("contacts?search=" + Uri.EscapeDataString(phone)))).GetProperty("contacts")[0].GetProperty("id").GetString()!;
        var body = new { name = "Reach", template = HelloTemplate, audience = new { tags = new[] { "many" }, contact_ids = new[] { inWindow } }, dry_run = true };

        var before = (await Envelope.SuccessAsync(await sender.Api.PostAsync("campaigns", body))).GetProperty("messaging_limit");
        await WaitForStatusAsync(sender, Id(await CreateAsync(sender, new { name = "First", template = HelloTemplate, audience = new { tags = new[] { "first" } } })), "completed");
        var after = (await Envelope.SuccessAsync(await sender.Api.PostAsync("campaigns", body))).GetProperty("messaging_limit");

        Assert.Equal(10, first.Count);
        Assert.Equal(("TIER_250", 250, 0L, 250L, 245L, false), Limit(before));
        Assert.Equal(("TIER_250", 250, 10L, 240L, 245L, true), Limit(after));
    }

    private static (string?, int, long, long, long, bool) Limit(JsonElement l) => (
        l.GetProperty("tier").GetString(), l.GetProperty("cap").GetInt32(), l.GetProperty("used24h").GetInt64(),
        l.GetProperty("headroom").GetInt64(), l.GetProperty("out_of_window").GetInt64(), l.GetProperty("would_pause").GetBoolean());

    [Fact]
    public async Task Dry_run_counts_recipients_missing_a_personalisation_value_unless_it_has_a_default()
    {
        var sender = await Sender.SandboxAsync(_host);
        await ContactsAsync(sender, 6, ["vars"], i => new { phone_number = Sender.NewPhone(), name = $"Vars {i}", tags = new[] { "vars" }, custom_fields = i < 2 ? new Dictionary<string, string>() : new Dictionary<string, string> { ["discount"] = "15%" } });
        object Sale(string text) => new { name = "spring_sale", language = "en_US", components = new[] { new { type = "body", parameters = new[] { new { type = "text", text } } } } };

        var strict = await Envelope.SuccessAsync(await sender.Api.PostAsync("campaigns", new { name = "V", template = Sale("{{contact.custom_fields.discount}}"), audience = new { tags = new[] { "vars" } }, dry_run = true }));
        var lenient = await Envelope.SuccessAsync(await sender.Api.PostAsync("campaigns", new { name = "V", template = Sale("{{contact.custom_fields.discount | default: \"10%\"}}"), audience = new { tags = new[] { "vars" } }, dry_run = true }));

        Assert.Equal((6L, 4L, 2L), (strict.GetProperty("audience").GetInt64(), strict.GetProperty("sendable").GetInt64(), strict.GetProperty("skipped").GetInt64()));
        Assert.Equal(2, strict.GetProperty("skipped_by_reason").GetProperty("missing_variable").GetInt64());
        Assert.Equal((6L, 6L, 0L), (lenient.GetProperty("audience").GetInt64(), lenient.GetProperty("sendable").GetInt64(), lenient.GetProperty("skipped").GetInt64()));
        Assert.Equal(0, await TotalAsync(sender));
    }

    [Fact]
    public async Task Same_idempotency_key_returns_the_same_campaign_and_another_body_is_409()
    {
        var sender = await Sender.SandboxAsync(_host);
        var body = new { name = "Once", template = Sale, audience = new { tags = new[] { "x" } }, scheduled_at = Later() };

        var first = await SendAsync(sender, HttpMethod.Post, "campaigns", body, "launch-1");
        var again = await SendAsync(sender, HttpMethod.Post, "campaigns", body, "launch-1");
        var other = await SendAsync(sender, HttpMethod.Post, "campaigns", body with { name = "Twice" }, "launch-1");
        var otherKey = await SendAsync(sender, HttpMethod.Post, "campaigns", body, "launch-2");

        var created = await Envelope.SuccessAsync(first, HttpStatusCode.Created);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        var replayed = await Envelope.SuccessAsync(again, HttpStatusCode.Created);
        Assert.Equal("true", Assert.Single(again.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(Id(created), Id(replayed));
        Assert.Equal("Once", replayed.GetProperty("name").GetString());
        await Envelope.ErrorAsync(other, HttpStatusCode.Conflict, "idempotency_key_reused");
        Assert.NotEqual(Id(created), Id(await Envelope.SuccessAsync(otherKey, HttpStatusCode.Created)));
        var tooLong = await Envelope.ErrorAsync(await SendAsync(sender, HttpMethod.Post, "campaigns", body, new string('k', 1000)), HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(tooLong.GetProperty("errors").TryGetProperty("Idempotency-Key", out _), tooLong.ToString());
        Assert.Equal(2, await TotalAsync(sender));
    }

    [Fact]
    public async Task Concurrent_creates_with_one_idempotency_key_make_one_campaign()
    {
        var sender = await Sender.SandboxAsync(_host);
        var body = new { name = "Race", template = Sale, audience = new { tags = new[] { "x" } }, scheduled_at = Later() };

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => SendAsync(sender, HttpMethod.Post, "campaigns", body, "race-1")));

        var ids = new List<string>();
        foreach (var response in responses)
        {
            ids.Add(Id(await Envelope.SuccessAsync(response, HttpStatusCode.Created)));
        }

        Assert.Single(ids.Distinct());
        Assert.Equal(1, await TotalAsync(sender));
        var (rows, _) = await StoredAsync(sender);
        Assert.Single(rows, r => r.Contains("/c_", StringComparison.Ordinal));
        Assert.Single(rows, r => r.StartsWith("~active/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Campaigns_are_listed_newest_first_with_an_exact_total()
    {
        var sender = await Sender.SandboxAsync(_host);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(Id(await CreateAsync(sender, new { name = $"List {i}", template = Sale, audience = new { tags = new[] { "x" } }, scheduled_at = Later() })));
        }

        var listed = new List<string>();
        for (var page = 1; page <= 3; page++)
        {
            var data = await Envelope.SuccessAsync(await sender.Api.GetAsync($"campaigns?per_page=2&page={page}"));
            Assert.Equal((5L, page, 2), (data.GetProperty("total").GetInt64(), data.GetProperty("page").GetInt32(), data.GetProperty("per_page").GetInt32()));
            listed.AddRange(data.GetProperty("campaigns").EnumerateArray().Select(Id));
        }

        Assert.Equal(Enumerable.Reverse(ids), listed);
        await Envelope.ErrorAsync(await sender.Api.GetAsync("campaigns?per_page=101"), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Dry_run_over_more_than_200_contacts_counts_each_contact_once()
    {
        // Above 200 the planner reads the workspace's contacts in one range instead of one by one.
        var sender = await Sender.SandboxAsync(_host);
        var both = await ContactsAsync(sender, 150, ["alpha"], i => new { phone_number = UniquePhone(), name = $"Both {i}", tags = new[] { "alpha", "beta" }, opted_in = i >= 5 });
        var betaOnly = (await ContactsAsync(sender, 70, ["beta"])).Except(both).ToList();
        var outside = await ContactsAsync(sender, 10, ["gamma"]);
        var gone = await ContactAsync(sender, new { phone_number = Sender.NewPhone() });
        await Envelope.SuccessAsync(await sender.Api.DeleteAsync("contacts/" + gone));

        var plan = await Envelope.SuccessAsync(await sender.Api.PostAsync("campaigns", new { name = "Big", template = Sale, audience = new { tags = new[] { "alpha", "beta" }, contact_ids = new[] { both[0], betaOnly[0], outside[0], outside[1], gone } }, dry_run = true }));

        Assert.Equal(70, betaOnly.Count);
        Assert.Equal(150 + 70 + 2 + 1, plan.GetProperty("audience").GetInt64());
        Assert.Equal(5, plan.GetProperty("skipped_by_reason").GetProperty("opted_out").GetInt64());
        Assert.Equal(1, plan.GetProperty("skipped_by_reason").GetProperty("contact_not_found").GetInt64());
        Assert.Equal(150 + 70 + 2 - 5, plan.GetProperty("sendable").GetInt64());
        Assert.Equal(0, await TotalAsync(sender));
    }

    [Theory]
    [InlineData("""{"template":TEMPLATE,"audience":{"tags":["a"]}}""", "name")]
    [InlineData("""{"name":"  ","template":TEMPLATE,"audience":{"tags":["a"]}}""", "name")]
    [InlineData("""{"name":"X","audience":{"tags":["a"]}}""", "template")]
    [InlineData("""{"name":"X","template":{"language":"en_US"},"audience":{"tags":["a"]}}""", "template.name")]
    [InlineData("""{"name":"X","template":TEMPLATE}""", "audience")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{}}""", "audience")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{"tags":[],"contact_ids":[]}}""", "audience")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{"contact_ids":["ct_nope"]}}""", "audience.contact_ids")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{"tags":[""]}}""", "audience.tags")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{"tags":["a"]},"scheduled_at":"2026-12-24T09:00:00+02:00"}""", "scheduled_at")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{"tags":["a"]},"scheduled_at":"tomorrow"}""", "scheduled_at")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{"tags":["a"]},"nmae":"typo"}""", "nmae")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{"tags":["a"],"stag":"lead"}}""", "audience.stag")]
    [InlineData("""{"name":"X","template":TEMPLATE,"audience":{"tags":["a"]},"dry_run":true,"draft":true}""", "draft")]
    public async Task Invalid_campaign_is_400_naming_the_field_and_creates_nothing(string json, string field)
    {
        var sender = await Sender.SandboxAsync(_host);

        var response = await sender.Api.PostJsonAsync("campaigns", json.Replace("TEMPLATE", Hello, StringComparison.Ordinal));

        var error = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(error.GetProperty("errors").TryGetProperty(field, out _), error.ToString());
        Assert.Equal(0, await TotalAsync(sender));
    }

    [Fact]
    public async Task Bad_reschedule_retry_and_recipient_queries_are_400_naming_the_field()
    {
        var sender = await Sender.SandboxAsync(_host);
        var id = Id(await CreateAsync(sender, new { name = "V", template = Sale, audience = new { tags = new[] { "x" } }, scheduled_at = Later() }));

        async Task Refused(HttpResponseMessage response, string field)
        {
            var error = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
            Assert.True(error.GetProperty("errors").TryGetProperty(field, out _), error.ToString());
        }

        await Refused(await PatchAsync(sender, id, new { }), "scheduled_at");
        await Refused(await PatchAsync(sender, id, new { scheduled_at = "2026-12-24T09:00:00+05:30" }), "scheduled_at");
        await Refused(await SendAsync(sender, HttpMethod.Post, $"campaigns/{id}/retry", new { categories = new[] { "retryable", "everything" } }), "categories");
        await Refused(await SendAsync(sender, HttpMethod.Post, $"campaigns/{id}/retry", new { categories = Array.Empty<string>() }), "categories");
        await Refused(await SendAsync(sender, HttpMethod.Post, $"campaigns/{id}/retry", new { }), "categories");
        await Refused(await sender.Api.GetAsync($"campaigns/{id}/recipients?status=lost"), "status");
        await Refused(await sender.Api.GetAsync($"campaigns/{id}/recipients?category=anything"), "category");
        await Refused(await sender.Api.GetAsync($"campaigns/{id}/recipients?cursor=not-a-cursor"), "cursor");
        await Refused(await sender.Api.GetAsync($"campaigns/{id}/recipients?per_page=101"), "per_page");

        var after = await GetAsync(sender, id);
        Assert.Equal("scheduled", after.GetProperty("status").GetString());
        Assert.Equal(0, after.GetProperty("round").GetInt32());
    }

    [Fact]
    public async Task Extreme_schedule_times_and_a_cursor_for_no_recipient_are_answered_without_a_500()
    {
        var sender = await Sender.SandboxAsync(_host);
        var contact = await ContactAsync(sender, new { phone_number = Sender.NewPhone(), tags = new[] { "edge" } });

        var far = await CreateAsync(sender, new { name = "Far", template = Sale, audience = new { tags = new[] { "edge" } }, scheduled_at = "9999-12-31T23:59:59Z" });
        var moved = await Envelope.SuccessAsync(await PatchAsync(sender, Id(far), new { scheduled_at = "9999-12-30T00:00:00Z" }));
        var ancient = await CreateAsync(sender, new { name = "Ancient", template = Sale, audience = new { tags = new[] { "edge" } }, scheduled_at = "0001-01-01T00:00:00Z" });
        var page = await Envelope.SuccessAsync(await sender.Api.GetAsync($"campaigns/{Id(far)}/recipients?cursor={contact}"));

        Assert.Equal(("scheduled", "9999-12-31T23:59:59Z"), (far.GetProperty("status").GetString(), Utc(far.GetProperty("scheduled_at").GetDateTimeOffset())));
        Assert.Equal("9999-12-30T00:00:00Z", Utc(moved.GetProperty("scheduled_at").GetDateTimeOffset()));
        Assert.Equal("running", ancient.GetProperty("status").GetString());
        Assert.Empty(page.GetProperty("recipients").EnumerateArray());
        await WaitForStatusAsync(sender, Id(ancient), "completed");
    }

    [Fact]
    public async Task Unknown_campaign_and_another_workspaces_campaign_are_404()
    {
        var sender = await Sender.SandboxAsync(_host);
        var stranger = await Sender.SandboxAsync(_host);
        var scheduledAt = Later();
        var id = Id(await CreateAsync(sender, new { name = "Mine", template = Sale, audience = new { tags = new[] { "x" } }, scheduled_at = scheduledAt }));

        await Envelope.ErrorAsync(await sender.Api.GetAsync("campaigns/cmp_0123456789abcdef01234567"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await sender.Api.GetAsync("campaigns/nonsense"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await sender.Api.GetAsync("campaigns/cmp_0123456789abcdef01234567/recipients"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await ActAsync(sender, "cmp_0123456789abcdef01234567", "cancel"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await stranger.Api.GetAsync("campaigns/" + id), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await stranger.Api.GetAsync($"campaigns/{id}/recipients"), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await PatchAsync(stranger, id, new { scheduled_at = Utc(DateTimeOffset.UtcNow) }), HttpStatusCode.NotFound, "not_found");
        foreach (var action in new[] { "pause", "resume", "cancel" })
        {
            await Envelope.ErrorAsync(await ActAsync(stranger, id, action), HttpStatusCode.NotFound, "not_found");
        }

        await Envelope.ErrorAsync(await SendAsync(stranger, HttpMethod.Post, $"campaigns/{id}/retry", new { categories = new[] { "retryable" } }), HttpStatusCode.NotFound, "not_found");
        Assert.Equal(0, await TotalAsync(stranger));
        var mine = await GetAsync(sender, id);
        Assert.Equal("scheduled", mine.GetProperty("status").GetString());
        Assert.Equal(scheduledAt, Utc(mine.GetProperty("scheduled_at").GetDateTimeOffset()));
    }

    [Fact]
    public async Task Recipients_list_filters_by_status_and_pages_over_more_than_100_each_once()
    {
        var sender = await Sender.SandboxAsync(_host);
        var ids = await ContactsAsync(sender, 130, ["many"], i => new { phone_number = Sender.NewPhone(), name = $"Many {i}", tags = new[] { "many" }, opted_in = i % 10 != 0 });
        var id = Id(await CreateAsync(sender, new { name = "Many", template = Sale, audience = new { tags = new[] { "many" } } }));
        var done = await WaitForStatusAsync(sender, id, "completed");
        Assert.Equal(130, Stat(done, "total"));
        Assert.Equal(13, Stat(done, "skipped"));

        var bySeven = await PagesAsync(sender, id, 7, "");
        var first = await Envelope.SuccessAsync(await sender.Api.GetAsync($"campaigns/{id}/recipients?per_page=100"));
        var skipped = await PagesAsync(sender, id, 4, "&status=skipped");
        var pending = await Envelope.SuccessAsync(await sender.Api.GetAsync($"campaigns/{id}/recipients?status=pending"));

        Assert.Equal(130, bySeven.Count);
        Assert.Equal(ids.Order(StringComparer.Ordinal), ContactIds(bySeven));
        Assert.Equal(100, first.GetProperty("recipients").GetArrayLength());
        Assert.Equal(JsonValueKind.String, first.GetProperty("next_cursor").ValueKind);
        Assert.Equal(13, skipped.Count);
        Assert.All(skipped, r => Assert.Equal("skipped", r.GetProperty("status").GetString()));
        Assert.Equal(13, ContactIds(skipped).Distinct().Count());
        Assert.Equal(ContactIds(bySeven.Where(r => r.GetProperty("skip_reason").GetString() == "opted_out")), ContactIds(skipped));
        Assert.Empty(pending.GetProperty("recipients").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, pending.GetProperty("next_cursor").ValueKind);
    }

    private static async Task<List<JsonElement>> PagesAsync(Sender sender, string id, int perPage, string query)
    {
        var all = new List<JsonElement>();
        string? cursor = null;
        for (var pages = 0; pages < 200; pages++)
        {
            var page = await Envelope.SuccessAsync(await sender.Api.GetAsync($"campaigns/{id}/recipients?per_page={perPage}{query}{(cursor is null ? "" : "&cursor=" + cursor)}"));
            var items = page.GetProperty("recipients").EnumerateArray().Select(r => r.Clone()).ToList();
            Assert.True(items.Count <= perPage);
            all.AddRange(items);
            cursor = page.GetProperty("next_cursor").GetString();
            if (cursor is null)
            {
                return all;
            }
        }

        throw new InvalidOperationException("The cursor never ended.");
    }
}
