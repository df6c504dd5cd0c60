namespace Aisoule.Core.Campaigns;

/// <summary>Failure categories of campaign recipients (placeholder until the limits branch lands).</summary>
public static class CampaignFailures
{
    public const string Retryable = "retryable";
    public const string TemplateFix = "template_fix";
    public const string RecipientInvalid = "recipient_invalid";
    public const string OptedOut = "opted_out";
    public const string Limit = "limit";

    public static IReadOnlyList<string> All { get; } = [Retryable, TemplateFix, RecipientInvalid, OptedOut, Limit];

    public static string Categorize(string? errorCode) => errorCode switch
    {
        "132000" or "132001" or "132015" or "132016" or "131051" or "100" => TemplateFix,
        "131026" or "131062" => RecipientInvalid,
        "131050" => OptedOut,
        "131049" or "131048" or "131056" or "131063" => Limit,
        _ => Retryable,
    };
}
