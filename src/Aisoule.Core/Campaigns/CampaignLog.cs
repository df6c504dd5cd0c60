using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Campaigns;

internal static partial class CampaignLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Campaign {CampaignId} planned: {Recipients} recipients, {Sendable} to send.")]
    public static partial void Planned(ILogger logger, string campaignId, int recipients, long sendable);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Campaign {CampaignId} paused itself: the messaging limit ({Cap} unique recipients a day) is reached until {ResumeAt}.")]
    public static partial void LimitReached(ILogger logger, string campaignId, int cap, DateTimeOffset? resumeAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Campaign step of {CampaignId} failed; the watch timer restarts it.")]
    public static partial void StepFailed(ILogger logger, Exception exception, string campaignId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Campaign {CampaignId} had queued recipients and none settled for a while: {Count} of their messages were enqueued again.")]
    public static partial void RequeuedStuck(ILogger logger, string campaignId, int count);
}
