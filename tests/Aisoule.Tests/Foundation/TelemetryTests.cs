using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Aisoule.Core.Telemetry;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using OpenTelemetry.Metrics;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>
/// What the host exports through OpenTelemetry over one real flow (<see cref="TelemetryFlow"/>): a password login, an
/// API key, a cloud send that Meta accepts and one it refuses, a burst past the rate limit, Meta's webhook (the
/// handshake and a signed status) and an outbound webhook with its secret.
/// </summary>
public sealed class TelemetryTests(TelemetryTests.TelemetryFlow flow) : IClassFixture<TelemetryTests.TelemetryFlow>
{
    [Fact]
    public void No_password_key_token_cookie_or_secret_appears_in_any_exported_span_log_or_metric_tag()
    {
        var exported = flow.ExportedText();

        // The check reads what was really exported: the flow's own ids are in it.
        Assert.Contains(exported, text => text.Contains(flow.SendRequestId, StringComparison.Ordinal));
        Assert.Contains(exported, text => text.Contains(flow.WorkspaceId, StringComparison.Ordinal));
        foreach (var (name, secret) in flow.Secrets)
        {
            Assert.False(exported.Any(text => text.Contains(secret, StringComparison.Ordinal)), $"The {name} was exported.");
        }
    }

    [Fact]
    public void A_send_is_one_trace_from_the_api_request_through_the_queue_and_the_dispatcher_to_the_graph_call()
    {
        var spans = flow.Telemetry.Spans;
        var request = Assert.Single(spans, s => s.Kind == ActivityKind.Server && Tag(s, AisouleTelemetry.RequestIdTag) == flow.SendRequestId);
        var trace = spans.Where(s => s.TraceId == request.TraceId).ToList();

        var enqueue = Assert.Single(trace, s => s.OperationName == "aisoule.send.enqueue" && Tag(s, AisouleTelemetry.MessageIdTag) == flow.SentMessageId);
        var dispatch = Assert.Single(trace, s => s.OperationName == "aisoule.send.dispatch" && Tag(s, AisouleTelemetry.MessageIdTag) == flow.SentMessageId);
        var graphCall = Assert.Single(trace, s => s.Kind == ActivityKind.Client && (Tag(s, "url.full") ?? "").StartsWith(flow.Graph.BaseAddress.ToString(), StringComparison.Ordinal)
            && Tag(s, "url.full")!.EndsWith("/messages", StringComparison.Ordinal));

        Assert.True(IsWithin(enqueue, request, trace), "The enqueue is not part of the API request's span.");
        Assert.Equal(enqueue.SpanId, dispatch.ParentSpanId);
        Assert.True(IsWithin(graphCall, dispatch, trace), "The Graph call is not part of the dispatcher's span.");
        Assert.Equal(flow.WorkspaceId, Tag(request, AisouleTelemetry.WorkspaceIdTag));
        Assert.Equal(flow.WorkspaceId, Tag(dispatch, AisouleTelemetry.WorkspaceIdTag));
    }

    [Fact]
    public void Every_log_line_written_in_a_request_carries_its_request_id_and_workspace_id()
    {
        var spans = flow.Telemetry.Spans;
        var logs = flow.Telemetry.Logs;
        var written = 0;
        foreach (var requestId in new[] { flow.AccountRequestId, flow.SendRequestId })
        {
            var request = Assert.Single(spans, s => s.Kind == ActivityKind.Server && Tag(s, AisouleTelemetry.RequestIdTag) == requestId);
            var inRequest = RequestSpanIds(request, spans);
            var lines = logs.Where(l => l.TraceId == request.TraceId && inRequest.Contains(l.SpanId)).ToList();

            written += lines.Count;
            Assert.All(lines, line =>
            {
                Assert.Equal(requestId, line.Scope("RequestId"));
                Assert.Equal(flow.WorkspaceId, line.Scope("WorkspaceId"));
            });
        }

        // Adding the account calls the Graph API inside the request, which logs (the send request itself writes none).
        Assert.True(written > 0, "No log line was written in the requests: the check would pass whatever they carried.");

        // The dispatcher's lines carry the message and its workspace.
        var dispatch = Assert.Single(spans, s => s.OperationName == "aisoule.send.dispatch" && Tag(s, AisouleTelemetry.MessageIdTag) == flow.SentMessageId);
        var dispatchLines = logs.Where(l => l.SpanId == dispatch.SpanId || spans.Any(s => s.SpanId == l.SpanId && IsWithin(s, dispatch, spans))).ToList();
        Assert.NotEmpty(dispatchLines);
        Assert.All(dispatchLines, line =>
        {
            Assert.Equal(flow.SentMessageId, line.Scope("MessageId"));
            Assert.Equal(flow.WorkspaceId, line.Scope("WorkspaceId"));
        });
    }

    [Fact]
    public void Sends_failures_by_code_queue_to_sent_latency_and_rate_limit_refusals_are_counted_without_keys_or_phones()
    {
        var metrics = flow.Telemetry.Metrics(flow.Host.Services);
        List<MetricPoint> Points(string name) =>
            [.. metrics.Where(m => m.Name == name).SelectMany(m => m.MetricPoints).Where(p => TagOf(p, AisouleTelemetry.WorkspaceTag) == flow.WorkspaceId)];

        Assert.Equal(1, Points(AisouleTelemetry.MessagesSent).Sum(p => p.GetSumLong()));
        var failed = Assert.Single(Points(AisouleTelemetry.MessagesFailed));
        Assert.Equal(flow.FailedCode, TagOf(failed, AisouleTelemetry.CodeTag));
        Assert.Equal(1, failed.GetSumLong());
        var latency = Assert.Single(Points(AisouleTelemetry.QueueToSent));
        Assert.Equal(1, latency.GetHistogramCount());
        Assert.InRange(latency.GetHistogramSum(), 0, 60_000);
        var refusals = Assert.Single(Points(AisouleTelemetry.RateLimitRefusals));
        Assert.Equal(AisouleTelemetry.Limits.ApiKey, TagOf(refusals, AisouleTelemetry.LimitTag));
        Assert.Equal(flow.Refused, refusals.GetSumLong());

        // Tags are ids, codes and kinds: never a key, a phone or any other value a caller sent.
        var ours = metrics.Where(m => m.Name.StartsWith("aisoule.messages.", StringComparison.Ordinal) || m.Name == AisouleTelemetry.RateLimitRefusals).ToList();
        Assert.All(ours.SelectMany(m => m.MetricPoints).SelectMany(Tags), tag =>
        {
            Assert.Contains(tag.Key, new[] { AisouleTelemetry.WorkspaceTag, AisouleTelemetry.CodeTag, AisouleTelemetry.LimitTag });
            var value = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "";
            Assert.DoesNotContain(flow.SentTo.TrimStart('+'), value, StringComparison.Ordinal);
            Assert.DoesNotContain(flow.FailedTo.TrimStart('+'), value, StringComparison.Ordinal);
        });
    }

    private static string? Tag(Activity span, string name) => span.GetTagItem(name)?.ToString();

    private static IEnumerable<KeyValuePair<string, object?>> Tags(MetricPoint point)
    {
        var tags = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            tags.Add(tag);
        }

        return tags;
    }

    private static string? TagOf(MetricPoint point, string name) =>
        Tags(point).Where(t => t.Key == name).Select(t => Convert.ToString(t.Value, CultureInfo.InvariantCulture)).FirstOrDefault();

    /// <summary>Whether <paramref name="span"/> is <paramref name="ancestor"/> or under it, following parents among <paramref name="spans"/>.</summary>
    private static bool IsWithin(Activity span, Activity ancestor, IReadOnlyList<Activity> spans)
    {
        for (Activity? current = span; current is not null; current = spans.FirstOrDefault(s => s.SpanId == current.ParentSpanId && s.TraceId == current.TraceId))
        {
            if (current.SpanId == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The request's span and those under it, up to the queue: the dispatcher's work is not the request's.</summary>
    private static HashSet<ActivitySpanId> RequestSpanIds(Activity request, IReadOnlyList<Activity> spans) =>
        [.. spans.Where(s => s.TraceId == request.TraceId && IsWithin(s, request, spans)
            && !spans.Any(c => c.Kind == ActivityKind.Consumer && IsWithin(s, c, spans))).Select(s => s.SpanId)];

    /// <summary>Runs the flow once for the tests of the class, against a loopback Graph API and real Azurite.</summary>
    public sealed class TelemetryFlow : IAsyncLifetime
    {
        internal TelemetryCapture Telemetry { get; } = new();

        internal FakeGraphApi Graph { get; private set; } = null!;

        internal TestHost Host { get; private set; } = null!;

        public string WorkspaceId { get; private set; } = "";

        public string AccountRequestId { get; } = "otel-account-" + Guid.NewGuid().ToString("N");

        public string SendRequestId { get; } = "otel-send-" + Guid.NewGuid().ToString("N");

        public string SentTo { get; } = Sender.NewPhone();

        public string FailedTo { get; } = Sender.NewPhone();

        public string SentMessageId { get; private set; } = "";

        public string FailedCode { get; private set; } = "";

        public long Refused { get; private set; }

        public List<(string Name, string Value)> Secrets { get; } = [];

        public async Task InitializeAsync()
        {
            Graph = await FakeGraphApi.StartAsync();
            Graph.OnSend = (_, body) => body.GetProperty("to").GetString() == FailedTo.TrimStart('+')
                ? FakeGraphApi.Reply.MetaError(400, 131026, "Message undeliverable")
                : FakeGraphApi.Reply.Ok();
            Host = await TestHost.StartAsync(new Dictionary<string, string?>(Graph.Settings()) { ["RateLimiting:PerSecond"] = "20" }, services: Telemetry.Configure);

            // A password login, and an API key made with its session.
            var signedUp = await Infrastructure.Identity.SignUpAsync(Host);
            var owner = await Infrastructure.Identity.LoginAsync(Host, signedUp.Email, signedUp.Password);
            WorkspaceId = owner.WorkspaceId;
            var key = await owner.CreateKeyAsync();
            var burstKey = await owner.CreateKeyAsync("Burst");

            // A cloud number, checked with the Graph API inside the request.
            var phoneNumberId = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(CultureInfo.InvariantCulture);
            using var addAccount = new HttpRequestMessage(HttpMethod.Post, "accounts")
            {
                Content = JsonContent.Create(new { name = "Shop", phone_number_id = phoneNumberId, waba_id = "102290129340398", access_token = FakeGraphApi.Token, throughput_mps = 80, is_default = true }),
            };
            addAccount.Headers.Add("Cookie", owner.Cookie);
            addAccount.Headers.Add("X-CSRF-Token", owner.CsrfToken);
            addAccount.Headers.Add("X-Request-Id", AccountRequestId);
            var account = await Envelope.SuccessAsync(await Host.Client.SendAsync(addAccount), HttpStatusCode.Created);
            var sender = new Sender(Host, owner, key, account.GetProperty("id").GetString()!, phoneNumberId);

            // A send Meta accepts (with our request id) and one it refuses for good.
            using var send = Infrastructure.Identity.WithKey(HttpMethod.Post, "messages/send", key, new { to = SentTo, type = "template", template = new { name = "hello_world", language = "en_US" } });
            send.Headers.Add("X-Request-Id", SendRequestId);
            SentMessageId = await Sender.AcceptedIdAsync(await Host.Client.SendAsync(send));
            var failedId = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(FailedTo));
            var sent = await sender.MessageWhenAsync(SentMessageId, Sender.StatusIs("sent"), "sent");
            var failed = await sender.MessageWhenAsync(failedId, Sender.StatusIs("failed"), "failed");
            FailedCode = failed.GetProperty("error").GetProperty("code").GetString()!;
            await Eventually.WaitAsync(() => Task.FromResult(Telemetry.Spans), spans => spans.Count(s => s.OperationName == "aisoule.send.dispatch" && s.GetTagItem(AisouleTelemetry.WorkspaceIdTag) as string == WorkspaceId) >= 2, what: "both dispatches exported");

            // Past the per-second limit with another key (the polling above stays well under it).
            var burst = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", burstKey))));
            Refused = burst.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests);
            Assert.True(Refused > 0, "The burst was never refused.");

            // Meta's webhook: the handshake with the verify token, and a status signed with the app secret.
            var challenge = await Host.Client.GetAsync($"whatsapp/webhook?hub.mode=subscribe&hub.verify_token={MetaWebhook.VerifyToken}&hub.challenge=1158201444");
            Assert.Equal(HttpStatusCode.OK, challenge.StatusCode);
            var status = await MetaWebhook.PostAsync(Host.Client, MetaWebhook.Status(phoneNumberId, sent.GetProperty("wamid").GetString()!, "delivered"));
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);

            // An outbound webhook, whose signing secret is shown once.
            var webhook = await Envelope.SuccessAsync(await sender.Api.PostAsync("webhooks", new { url = "https://hooks.example.com/aisoule", events = new[] { "campaign.completed" } }), HttpStatusCode.Created);

            Secrets.AddRange(
            [
                ("password", signedUp.Password),
                ("API key", key),
                ("second API key", burstKey),
                ("sign-up CSRF token", signedUp.CsrfToken),
                ("login CSRF token", owner.CsrfToken),
                ("sign-up session cookie", signedUp.Cookie.Split('=', 2)[1]),
                ("login session cookie", owner.Cookie.Split('=', 2)[1]),
                ("access token", FakeGraphApi.Token),
                ("Meta app secret", MetaWebhook.AppSecret),
                ("Meta verify token", MetaWebhook.VerifyToken),
                ("webhook secret", webhook.GetProperty("secret").GetString()!),
            ]);
            TelemetryCapture.FlushLogs(Host.Services);
        }

        /// <summary>Every text exported: span names, attributes, events and links; log bodies, attributes and scopes; metric tags.</summary>
        public List<string> ExportedText()
        {
            var texts = new List<string>();
            foreach (var span in Telemetry.Spans)
            {
                texts.AddRange([span.DisplayName, span.OperationName, span.StatusDescription ?? ""]);
                texts.AddRange(span.TagObjects.Select(t => $"{t.Key}={t.Value}"));
                texts.AddRange(span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name} {t.Key}={t.Value}")));
                texts.AddRange(span.Links.SelectMany(l => l.Tags?.Select(t => $"{t.Key}={t.Value}") ?? []));
                texts.AddRange(span.Baggage.Select(b => $"{b.Key}={b.Value}"));
            }

            TelemetryCapture.FlushLogs(Host.Services);
            foreach (var log in Telemetry.Logs)
            {
                texts.AddRange([log.Category ?? "", log.FormattedMessage ?? "", log.Body ?? "", log.Exception ?? ""]);
                texts.AddRange(log.Attributes.Concat(log.Scopes).Select(a => $"{a.Key}={Convert.ToString(a.Value, CultureInfo.InvariantCulture)}"));
            }

            foreach (var metric in Telemetry.Metrics(Host.Services))
            {
                texts.AddRange(metric.MetricPoints.SelectMany(Tags).Select(t => $"{metric.Name} {t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}"));
            }

            return texts;
        }

        public async Task DisposeAsync()
        {
            await Host.DisposeAsync();
            await Graph.DisposeAsync();
        }
    }
}
