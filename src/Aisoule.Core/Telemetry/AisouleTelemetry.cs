using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Aisoule.Core.Telemetry;

/// <summary>
/// The app's own traces and metrics: one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named
/// <see cref="Name"/>, which the hosts export through OpenTelemetry. Tag values are ids and codes only — never a phone
/// number, a message's text, a key, a token, a password or any other secret.
/// </summary>
public static class AisouleTelemetry
{
    public const string Name = "Aisoule";

    public const string MessagesSent = "aisoule.messages.sent";
    public const string MessagesFailed = "aisoule.messages.failed";
    public const string QueueToSent = "aisoule.messages.queue_to_sent";
    public const string RateLimitRefusals = "aisoule.ratelimit.refusals";

    /// <summary>Span and log-scope attribute names.</summary>
    public const string WorkspaceIdTag = "aisoule.workspace_id";
    public const string MessageIdTag = "aisoule.message_id";
    public const string RequestIdTag = "aisoule.request_id";

    /// <summary>Metric tag names (low cardinality: a workspace, an error code, a kind of limit).</summary>
    public const string WorkspaceTag = "workspace_id";
    public const string CodeTag = "code";
    public const string LimitTag = "limit";

    /// <summary>The kinds of limit a refusal is counted under (<see cref="RateLimitRefused"/>).</summary>
    public static class Limits
    {
        public const string ApiKey = "api_key";
        public const string User = "user";
        public const string Login = "login";
        public const string Signup = "signup";
    }

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    private static readonly Counter<long> Sent = Meter.CreateCounter<long>(MessagesSent, "{message}", "Messages WhatsApp accepted from the dispatcher.");

    private static readonly Counter<long> Failed = Meter.CreateCounter<long>(MessagesFailed, "{message}", "Messages that ended failed, by error code.");

    private static readonly Histogram<double> QueuedFor = Meter.CreateHistogram<double>(QueueToSent, "ms", "From a send's acceptance (stored as queued) to WhatsApp's acceptance.");

    private static readonly Counter<long> Refusals = Meter.CreateCounter<long>(RateLimitRefusals, "{request}", "Requests refused by a rate limit or a login/sign-up throttle, by kind of limit.");

    /// <summary>A message WhatsApp accepted, <paramref name="sinceAccepted"/> after the API accepted it.</summary>
    public static void MessageSent(string workspaceId, TimeSpan sinceAccepted)
    {
        var workspace = new KeyValuePair<string, object?>(WorkspaceTag, workspaceId);
        Sent.Add(1, workspace);
        QueuedFor.Record(Math.Max(0, sinceAccepted.TotalMilliseconds), workspace);
    }

    /// <summary>A message that ended failed with <paramref name="code"/>.</summary>
    public static void MessageFailed(string workspaceId, string code) =>
        Failed.Add(1, new KeyValuePair<string, object?>(WorkspaceTag, workspaceId), new KeyValuePair<string, object?>(CodeTag, code));

    /// <summary>A request refused by the limit of <paramref name="limit"/> (one of <see cref="Limits"/>).</summary>
    public static void RateLimitRefused(string limit, string? workspaceId = null)
    {
        if (workspaceId is null)
        {
            Refusals.Add(1, new KeyValuePair<string, object?>(LimitTag, limit));
            return;
        }

        Refusals.Add(1, new KeyValuePair<string, object?>(LimitTag, limit), new KeyValuePair<string, object?>(WorkspaceTag, workspaceId));
    }

    /// <summary>The W3C <c>traceparent</c> of the current span, to carry in a queue message; null when there is none.</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>
    /// Starts a span that continues the trace <paramref name="traceParent"/> (from a queue message) when it is a valid
    /// W3C <c>traceparent</c>, linked to the span already running (the host's invocation); otherwise a child of that one.
    /// </summary>
    public static Activity? StartContinuing(string name, string? traceParent, ActivityKind kind)
    {
        if (traceParent is null || !ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent))
        {
            return Source.StartActivity(name, kind);
        }

        var links = Activity.Current is { } running ? new[] { new ActivityLink(running.Context) } : null;
        return Source.StartActivity(name, kind, parent, links: links);
    }
}
