namespace Aisoule.Core.Campaigns;

/// <summary>
/// What a failed recipient's error code means for the campaign: one of five categories, mapped from the code its
/// message row stores (<c>MessageEntity.ErrorCode</c>: Meta's numeric code as text, or ours). <c>retry</c> re-sends by
/// category, and the recipient list filters by it.
/// <list type="bullet">
/// <item><see cref="Retryable"/>: throughput (130429, 4, 80007, 131057), Meta's own trouble (131000, 131016), our
/// <c>timeout</c>, <c>http_*</c>, <c>dispatch_failed</c>, the account (190, 131031, 368, <c>account_disconnected</c>),
/// and any code we do not know. <c>delivery_unknown</c> shows as retryable too, but Meta may have sent it: the
/// campaign never re-sends it on its own. <c>campaign_cancelled</c> (never sent) is retryable as well.</item>
/// <item><see cref="TemplateFix"/>: the template or its parameters (132000, 132001, 132005, 132007, 132012, 132015,
/// 132016, 131051, 100, 131008, 131009).</item>
/// <item><see cref="RecipientInvalid"/>: the recipient cannot take it (131026, 131062, 131030, 131045, and 131047,
/// out of the customer service window).</item>
/// <item><see cref="OptedOut"/>: 131050, the user stopped marketing messages.</item>
/// <item><see cref="Limit"/>: Meta's limits on the business or the user (131049, 131048, 131056, 131063).</item>
/// </list>
/// </summary>
public static class CampaignFailures
{
    public const string Retryable = "retryable";
    public const string TemplateFix = "template_fix";
    public const string RecipientInvalid = "recipient_invalid";
    public const string OptedOut = "opted_out";
    public const string Limit = "limit";

    /// <summary>Every category, in the order they are listed.</summary>
    public static IReadOnlyList<string> All { get; } = [Retryable, TemplateFix, RecipientInvalid, OptedOut, Limit];

    private static readonly Dictionary<string, string> Categories = new(StringComparer.Ordinal)
    {
        ["132000"] = TemplateFix,
        ["132001"] = TemplateFix,
        ["132005"] = TemplateFix,
        ["132007"] = TemplateFix,
        ["132012"] = TemplateFix,
        ["132015"] = TemplateFix,
        ["132016"] = TemplateFix,
        ["131051"] = TemplateFix,
        ["100"] = TemplateFix,
        ["131008"] = TemplateFix,
        ["131009"] = TemplateFix,
        ["131026"] = RecipientInvalid,
        ["131062"] = RecipientInvalid,
        ["131030"] = RecipientInvalid,
        ["131045"] = RecipientInvalid,
        ["131047"] = RecipientInvalid,
        ["131050"] = OptedOut,
        ["131049"] = Limit,
        ["131048"] = Limit,
        ["131056"] = Limit,
        ["131063"] = Limit,
    };

    /// <summary>Whether <paramref name="category"/> is one of <see cref="All"/>.</summary>
    public static bool IsCategory(string? category) => category is not null && All.Contains(category, StringComparer.Ordinal);

    /// <summary>The category of a stored error code; <see cref="Retryable"/> for every code not listed (see the type's summary).</summary>
    public static string Categorize(string? errorCode) =>
        errorCode is not null && Categories.TryGetValue(errorCode, out var category) ? category : Retryable;
}
