using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Webhooks;

internal static partial class WebhookLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not nudge the outbox relay for {Table} {Partition}; the sweep will.")]
    public static partial void NudgeFailed(ILogger logger, Exception exception, string table, string partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {WebhookId} answered 410 Gone: unsubscribed.")]
    public static partial void Gone(ILogger logger, string webhookId);
}
