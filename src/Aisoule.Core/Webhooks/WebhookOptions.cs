using System.ComponentModel.DataAnnotations;

namespace Aisoule.Core.Webhooks;

/// <summary>Settings under <c>Webhooks</c> (README, configuration).</summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// Lets webhooks point at loopback and private addresses, over plain HTTP too: for trying the API on one machine.
    /// Refused at start outside the Development environment.
    /// </summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>A delivery succeeds only with a 2xx answer within this time.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries a second from one workspace to one host, over every instance, unless <see cref="HostRates"/> names the host.</summary>
    [Range(1, 10_000)]
    public int DefaultHostRate { get; set; } = 100;

    /// <summary>Deliveries a second to particular hosts: Zapier takes about 30 a second per hook URL.</summary>
    public Dictionary<string, int> HostRates { get; set; } = new(StringComparer.OrdinalIgnoreCase) { ["hooks.zapier.com"] = 30 };

    /// <summary>One webhook's queue messages worked on at once in one instance, so a slow endpoint holds few of its workers.</summary>
    [Range(1, 64)]
    public int MaxInFlightPerWebhook { get; set; } = 4;

    /// <summary>
    /// Waits before each retry, in order (each jittered ±20 %); unset: 10 s, 60 s, 5 min, 30 min, 2 h, 8 h, 24 h (about 1.5
    /// days), after which a delivery is <c>exhausted</c>.
    /// </summary>
    public TimeSpan[]? RetrySchedule { get; set; }

    /// <summary>
    /// How late an event's relay or a delivery's attempt must be before the sweep queues it again (its queue message was
    /// lost: a crash between a write and its enqueue, or a host killed mid-attempt).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan StrandedAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>An attempt still "delivering" after this was cut off (the host stopped mid-attempt): it may be made again.</summary>
    public TimeSpan ClaimTimeout => (Timeout * 2) + TimeSpan.FromSeconds(5);

    public IReadOnlyList<TimeSpan> Retries => RetrySchedule is { Length: > 0 } given ? given : WebhookDeliverer.Schedule;

    public int RateFor(string host) => HostRates.TryGetValue(host, out var rate) && rate > 0 ? rate : DefaultHostRate;
}
