namespace Aisoule.Core.WhatsApp;

/// <summary>
/// Meta's messaging-limit tiers (<c>whatsapp_business_manager_messaging_limit</c>): how many unique users a business
/// portfolio may reach outside a customer service window in a moving 24 hours.
/// </summary>
public static class MessagingTiers
{
    public const string Tier250 = "TIER_250";
    public const string Tier2K = "TIER_2K";
    public const string Tier10K = "TIER_10K";
    public const string Tier100K = "TIER_100K";
    public const string Unlimited = "TIER_UNLIMITED";

    private static readonly Dictionary<string, int?> Caps = new(StringComparer.Ordinal)
    {
        [Tier250] = 250,
        [Tier2K] = 2_000,
        [Tier10K] = 10_000,
        [Tier100K] = 100_000,
        [Unlimited] = null,
    };

    /// <summary>Whether Meta's value is a tier we know (an unknown one is logged and caps nothing).</summary>
    public static bool IsKnown(string? tier) => tier is not null && Caps.ContainsKey(tier);

    /// <summary>
    /// The unique recipients a tier allows per rolling 24 hours; null for no cap: <c>TIER_UNLIMITED</c>, and any value
    /// we do not know (a new tier must not stop campaigns; the caller logs it).
    /// </summary>
    public static int? CapOf(string? tier) => tier is not null && Caps.TryGetValue(tier, out var cap) ? cap : null;
}
