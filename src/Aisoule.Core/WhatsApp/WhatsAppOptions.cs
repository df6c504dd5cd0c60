using System.ComponentModel.DataAnnotations;

namespace Aisoule.Core.WhatsApp;

/// <summary>Settings under <c>WhatsApp:</c> (spec §8).</summary>
public sealed class WhatsAppOptions
{
    public const string Sandbox = "sandbox";
    public const string Cloud = "cloud";

    /// <summary><c>sandbox</c> (embedded, the default) or <c>cloud</c> (Meta's Graph API).</summary>
    [RegularExpression("^(sandbox|cloud)$", ErrorMessage = "WhatsApp:Provider must be 'sandbox' or 'cloud'.")]
    public string Provider { get; set; } = Sandbox;

    [Url]
    public string GraphBaseUrl { get; set; } = "https://graph.facebook.com";

    [RegularExpression(@"^v\d+\.\d+$", ErrorMessage = "WhatsApp:GraphVersion looks like v21.0.")]
    public string GraphVersion { get; set; } = "v21.0";

    /// <summary>Meta's app secret: signs inbound webhooks (X-Hub-Signature-256). A secret.</summary>
    public string? AppSecret { get; set; }

    /// <summary>Answers Meta's subscribe handshake. A secret.</summary>
    public string? VerifyToken { get; set; }

    [Range(1, 1000)]
    public int DefaultThroughputMps { get; set; } = 80;

    /// <summary>Provider calls per message before it is marked failed and copied to the poison queue.</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; set; } = 6;

    /// <summary>First retry delay; doubles each attempt (with jitter), capped at <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a recipient waits after Meta's pair-rate limit (131056).</summary>
    public TimeSpan PairLimitDelay { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>How long a send waits before looking again when its account is disconnected.</summary>
    public TimeSpan DisconnectedHold { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The longest a send waits for its disconnected account, counted from when it was accepted; after that it
    /// fails with <c>account_disconnected</c> instead of being held again.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "6.00:00:00", ErrorMessage = "WhatsApp:MaxDisconnectedHold must be between 1 second and 6 days.")]
    public TimeSpan MaxDisconnectedHold { get; set; } = TimeSpan.FromHours(24);

    /// <summary>A send claimed longer ago than this, and not finished, belongs to an instance that died.</summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long after a send was accepted the sweeper takes over if its queue message may never have been written
    /// (at most this plus one <c>SendSweepSchedule</c> interval late).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "WhatsApp:SweepAfter must be between 0 and 1 day.")]
    public TimeSpan SweepAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Per provider call.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Sandbox: delay before each status (sent, delivered, read) comes back.</summary>
    public TimeSpan SandboxStatusDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Sandbox: the messaging-limit tier it reports, as Meta names it (campaigns cap unique recipients by it).</summary>
    [RegularExpression("^TIER_(250|2K|10K|100K|UNLIMITED)$", ErrorMessage = "WhatsApp:SandboxMessagingLimit must be TIER_250, TIER_2K, TIER_10K, TIER_100K or TIER_UNLIMITED.")]
    public string SandboxMessagingLimit { get; set; } = MessagingTiers.Unlimited;

    public bool IsSandbox => string.Equals(Provider, Sandbox, StringComparison.Ordinal);
}
