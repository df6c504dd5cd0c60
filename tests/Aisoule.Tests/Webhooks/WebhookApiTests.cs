using System.Net;
using System.Text.Json;
using Aisoule.Core.Webhooks;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StandardWebhooks;
using Xunit;
using static Aisoule.Tests.Webhooks.WebhookHelpers;

namespace Aisoule.Tests.Webhooks;

/// <summary>Subscriptions through the API: the shapes accepted, the secret shown once, rotation, samples, and what is refused.</summary>
public sealed class WebhookApiTests : WebhookTestBase
{

    [Fact]
    public async Task Zapier_and_plain_subscribe_shapes_answer_201_with_an_id_and_a_secret_shown_once()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var url = Receiver.Url();
        object[] shapes =
        [
            new { url, events = new[] { "contact.created", "message.incoming" }, name = "CRM" },
            new { target_url = url, @event = "contact.created" },
            new Dictionary<string, object> { ["hookUrl"] = url, ["event"] = "message.sent" },
            new { url, @event = "campaign.completed" },
            new { subscription_url = "https://hooks.zapier.com/legacy", target_url = url, @event = "contact.updated" },
        ];
        var ids = new List<string>();
        foreach (var shape in shapes)
        {
            var created = await Envelope.SuccessAsync(await api.PostAsync("webhooks", shape), HttpStatusCode.Created);
            Assert.StartsWith("wh_", created.GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", created.GetProperty("secret").GetString()!);
            Assert.Equal(32, Convert.FromBase64String(created.GetProperty("secret").GetString()!["whsec_".Length..]).Length);
            Assert.Equal(url, created.GetProperty("url").GetString());
            ids.Add(created.GetProperty("id").GetString()!);
        }

        var list = (await Envelope.SuccessAsync(await api.GetAsync("webhooks"))).GetProperty("webhooks");
        Assert.Equal(ids.OrderBy(i => i), list.EnumerateArray().Select(w => w.GetProperty("id").GetString()!).OrderBy(i => i));
        Assert.All(list.EnumerateArray(), w => Assert.False(w.TryGetProperty("secret", out _)));
        var one = await Envelope.SuccessAsync(await api.GetAsync("webhooks/" + ids[0]));
        Assert.False(one.TryGetProperty("secret", out _));
        Assert.Equal(["contact.created", "message.incoming"], one.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("healthy", one.GetProperty("health").GetString());

        // Another workspace sees none of them.
        var other = await KeyClient.ForNewWorkspaceAsync(Host);
        await Envelope.ErrorAsync(await other.GetAsync("webhooks/" + ids[0]), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await other.DeleteAsync("webhooks/" + ids[0]), HttpStatusCode.NotFound, "not_found");
        Assert.Equal(0, (await Envelope.SuccessAsync(await other.GetAsync("webhooks"))).GetProperty("webhooks").GetArrayLength());
    }

    [Fact]
    public async Task Patch_changes_url_events_and_enabled_and_delete_unsubscribes()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var (id, _) = await SubscribeAsync(api, Receiver.Url("a"), "contact.created");

        var patched = await Envelope.SuccessAsync(await api.PatchAsync("webhooks/" + id, new { url = Receiver.Url("b"), events = new[] { "*" }, enabled = false }));
        Assert.Equal(Receiver.Url("b"), patched.GetProperty("url").GetString());
        Assert.False(patched.GetProperty("enabled").GetBoolean());

        // Disabled: nothing is delivered; enabled again, events from then on are.
        await ContactAsync(api);
        await Task.Delay(1000);
        Assert.Empty(Receiver.Requests);
        await Envelope.SuccessAsync(await api.PatchAsync("webhooks/" + id, new { enabled = true }));
        await ContactAsync(api);
        var got = await Receiver.WaitAsync(r => r.Count >= 1);
        Assert.Equal("b", got[0].Path);

        await Envelope.ErrorAsync(await api.PatchAsync("webhooks/" + id, new { }), HttpStatusCode.BadRequest, "validation_failed");
        await Envelope.ErrorAsync(await api.PatchAsync("webhooks/" + id, new { events = new[] { "contact.deleted" } }), HttpStatusCode.BadRequest, "validation_failed");
        Assert.True((await Envelope.SuccessAsync(await api.DeleteAsync("webhooks/" + id))).GetProperty("deleted").GetBoolean());
        await Envelope.ErrorAsync(await api.GetAsync("webhooks/" + id), HttpStatusCode.NotFound, "not_found");
        await Envelope.ErrorAsync(await api.DeleteAsync("webhooks/" + id), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task After_a_rotation_both_secrets_sign_and_each_verifies_alone()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        var (id, old) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        var rotated = await Envelope.SuccessAsync(await api.PostEmptyAsync($"webhooks/{id}/rotate-secret"));
        var current = rotated.GetProperty("secret").GetString()!;
        Assert.NotEqual(old, current);
        Assert.True(rotated.GetProperty("secret_rotation_ends_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(23));

        var attempt = await Envelope.SuccessAsync(await api.PostEmptyAsync($"webhooks/{id}/test"));
        Assert.True(attempt.GetProperty("succeeded").GetBoolean());
        var request = Receiver.Requests.Single();
        Assert.Equal(2, request.Header("webhook-signature").Split(' ').Length);
        VerifyStandard(current, request);
        VerifyStandard(old, request);
        Assert.Equal(await NodeHexAsync(current, request.Body), request.Header("X-Webhook-Signature"));
        Assert.Equal(await NodeHexAsync(old, request.Body), request.Header("X-Webhook-Signature-Previous"));
        Assert.ThrowsAny<Exception>(() => VerifyStandard(WebhookSignature.NewSecret(), request));
    }

    [Fact]
    public async Task Samples_are_shaped_as_real_deliveries_for_every_event()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        foreach (var name in WebhookEvents.Names)
        {
            var samples = await Envelope.SuccessAsync(await api.GetAsync("webhooks/samples/" + name));
            Assert.Equal(3, samples.GetArrayLength());
            foreach (var sample in samples.EnumerateArray())
            {
                Assert.Equal(name, sample.GetProperty("event").GetString());
                Assert.InRange(JsonSerializer.SerializeToUtf8Bytes(sample).Length, 1, 20 * 1024);
                if (name.StartsWith("message.", StringComparison.Ordinal))
                {
                    Assert.StartsWith("ct_", sample.GetProperty("data").GetProperty("contact_id").GetString(), StringComparison.Ordinal);
                }
            }
        }

        // A real contact.created carries the same fields as its sample.
        var (id, _) = await SubscribeAsync(api, Receiver.Url(), "contact.created");
        await ContactAsync(api);
        var real = Json((await Receiver.WaitAsync(r => r.Count >= 1))[0]);
        var sampleData = (await Envelope.SuccessAsync(await api.GetAsync("webhooks/samples/contact.created")))[0].GetProperty("data");
        Assert.Equal(sampleData.EnumerateObject().Select(p => p.Name).Order(), real.GetProperty("data").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(["data", "event", "id", "timestamp"], real.EnumerateObject().Select(p => p.Name).Order());
        await Envelope.ErrorAsync(await api.GetAsync("webhooks/samples/contact.deleted"), HttpStatusCode.NotFound, "not_found");

        // The test endpoint sends a sample of the event asked for, with an id of its own, and lists it.
        var tested = await Envelope.SuccessAsync(await api.PostAsync($"webhooks/{id}/test", new { @event = "message.incoming" }));
        Assert.Equal("message.incoming", tested.GetProperty("event").GetString());
        Assert.Equal("test", tested.GetProperty("trigger").GetString());
        var attempts = await AttemptsAsync(api, id);
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.Equal(tested.GetProperty("webhook_id").GetString(), attempts[0].GetProperty("webhook_id").GetString());
        await Envelope.ErrorAsync(await api.PostAsync($"webhooks/{id}/test", new { @event = "nope" }), HttpStatusCode.BadRequest, "validation_failed");

        // A test delivery is a delivery like any other: it can be replayed (same webhook-id).
        var replayed = await Envelope.SuccessAsync(await api.PostEmptyAsync($"webhooks/{id}/deliveries/{tested.GetProperty("delivery_id").GetString()}/replay"));
        Assert.Equal(tested.GetProperty("webhook_id").GetString(), replayed.GetProperty("webhook_id").GetString());
        Assert.Equal(2, replayed.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task Bad_subscriptions_are_refused_with_the_field_named_and_nothing_stored()
    {
        var api = await KeyClient.ForNewWorkspaceAsync(Host);
        async Task RefusedAsync(object body, string field)
        {
            var error = await Envelope.ErrorAsync(await api.PostAsync("webhooks", body), HttpStatusCode.BadRequest, "validation_failed");
            Assert.True(error.GetProperty("errors").TryGetProperty(field, out _), error.ToString());
        }

        await RefusedAsync(new { events = new[] { "contact.created" } }, "url");
        await RefusedAsync(new { url = "ftp://example.com/x", events = new[] { "contact.created" } }, "url");
        await RefusedAsync(new { url = "https://user:pw@example.com/x", events = new[] { "contact.created" } }, "url");
        await RefusedAsync(new { url = "https://example.com/x", events = Array.Empty<string>() }, "events");
        await RefusedAsync(new { url = "https://example.com/x", events = new[] { "contact.deleted" } }, "events");
        await RefusedAsync(new { url = "https://example.com/x" }, "events");
        await RefusedAsync(new { url = "https://example.com/x", events = new[] { null, "contact.created" } }, "events");
        await RefusedAsync(new { url = "https://example.com/x", target_url = "https://example.com/y", @event = "contact.created" }, "url");
        await RefusedAsync(new { url = "https://example.com/" + new string('a', 2100), @event = "contact.created" }, "url");
        await Envelope.ErrorAsync(await api.PostAsync("webhooks", new { url = "https://example.com/x", @event = "contact.created", colour = "red" }), HttpStatusCode.BadRequest, "validation_failed");
        await Envelope.ErrorAsync(await api.PostJsonAsync("webhooks", "{\"url\":"), HttpStatusCode.BadRequest, "invalid_json");
        await Envelope.ErrorAsync(await api.GetAsync("webhooks/wh_nope/deliveries"), HttpStatusCode.NotFound, "not_found");
        var (id, _) = await SubscribeAsync(api, "https://example.com/x", "contact.created");
        await Envelope.ErrorAsync(await api.GetAsync($"webhooks/{id}/deliveries?per_page=0"), HttpStatusCode.BadRequest, "validation_failed");
        await Envelope.ErrorAsync(await api.GetAsync($"webhooks/{id}/deliveries?cursor=../../x"), HttpStatusCode.BadRequest, "validation_failed");
        Assert.Single((await Envelope.SuccessAsync(await api.GetAsync("webhooks"))).GetProperty("webhooks").EnumerateArray());
    }

    [Fact]
    public async Task Standard_webhooks_test_vector_signs_as_the_spec_and_the_reference_library_do()
    {
        const string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        const string id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        const string body = "{\"test\": 2432232314}";
        var ours = WebhookSignature.StandardV1(secret, id, 1614265330, System.Text.Encoding.UTF8.GetBytes(body));
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", ours);
        Assert.Equal(ours, new StandardWebhook(secret).Sign(id, DateTimeOffset.FromUnixTimeSeconds(1614265330), body));
        Assert.Equal(await NodeHexAsync(secret, System.Text.Encoding.UTF8.GetBytes(body)), WebhookSignature.Hex(secret, System.Text.Encoding.UTF8.GetBytes(body)));
    }
}

/// <summary>Where webhooks may point in production: https only, never this machine's network, checked again on the address connected to.</summary>
public sealed class WebhookTargetTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.9.9.9", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("100.127.255.255", true)]
    [InlineData("100.128.0.1", false)]
    [InlineData("0.0.0.0", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("::ffff:8.8.8.8", false)]
    [InlineData("2606:4700:4700::1111", false)]
    [InlineData("::10.0.0.1", true)]
    [InlineData("64:ff9b::a00:1", true)]
    [InlineData("64:ff9b:1::808:808", true)]
    [InlineData("2001:0:4136:e378::1", true)]
    [InlineData("2002:a00:1::1", true)]
    [InlineData("168.63.129.16", true)]
    public void Forbidden_addresses_are_loopback_private_link_local_and_carrier_grade_nat(string address, bool forbidden) =>
        Assert.Equal(forbidden, WebhookTargets.Forbidden(IPAddress.Parse(address)));

    [Fact]
    public async Task In_production_plain_http_and_private_targets_are_refused_and_a_name_resolving_inside_is_refused_at_delivery()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = await TestHost.StartAsync(services: s => s.AddSingleton<WebhookHostResolver>((name, _) =>
            Task.FromResult(name == "rebound.example.test" ? new[] { IPAddress.Loopback } : Array.Empty<IPAddress>())));
        var api = await KeyClient.ForNewWorkspaceAsync(host);
        foreach (var url in new[] { receiver.Url(), "http://example.com/x", "https://127.0.0.1/x", "https://10.0.0.5/x", "https://[::1]/x", "https://localhost/x", "https://169.254.169.254/latest", "https://api.localhost/x" })
        {
            var error = await Envelope.ErrorAsync(await api.PostAsync("webhooks", new { url, @event = "contact.created" }), HttpStatusCode.BadRequest, "validation_failed");
            Assert.True(error.GetProperty("errors").TryGetProperty("url", out _), url);
        }

        var port = receiver.BaseAddress.Port;
        var (id, _) = await SubscribeAsync(api, $"https://rebound.example.test:{port}/hook", "contact.created");
        var attempt = await Envelope.SuccessAsync(await api.PostEmptyAsync($"webhooks/{id}/test"));
        Assert.False(attempt.GetProperty("succeeded").GetBoolean());
        Assert.Contains("private", attempt.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public async Task Allowing_private_targets_is_refused_at_start_outside_development()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () => await (await TestHost.StartAsync(new Dictionary<string, string?> { ["Webhooks:AllowPrivateTargets"] = "true" })).DisposeAsync());
        Assert.Contains("AllowPrivateTargets", failure is OptionsValidationException v ? v.Message : failure.ToString(), StringComparison.Ordinal);
    }
}
