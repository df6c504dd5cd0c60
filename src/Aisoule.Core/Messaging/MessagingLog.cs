using Aisoule.Core.WhatsApp;
using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Messaging;

/// <summary>Messaging's log lines. Never a token, a secret or a message body.</summary>
internal static partial class MessagingLog
{
    /// <summary>Puts the workspace and message ids on every log line written while one send is worked on.</summary>
    public static IDisposable? BeginMessageScope(ILogger logger, string workspaceId, string messageId) =>
        logger.BeginScope(new Dictionary<string, object> { ["WorkspaceId"] = workspaceId, ["MessageId"] = messageId });

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook for unknown phone_number_id {PhoneNumberId} ignored")]
    public static partial void UnknownPhoneNumberId(this ILogger logger, string phoneNumberId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inbound change ignored: {Reason}")]
    public static partial void InboundIgnored(this ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Inbound message {Wamid} seen before; applied once")]
    public static partial void InboundDuplicate(this ILogger logger, string wamid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Status {Status} for unknown wamid {Wamid} ignored")]
    public static partial void StatusForUnknown(this ILogger logger, string status, string wamid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Send for unknown message {MessageId} dropped")]
    public static partial void SendForUnknown(this ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Send of {MessageId} attempt {Attempt} skipped: message is {Status} at attempt {Current}")]
    public static partial void SendSkipped(this ILogger logger, string messageId, int attempt, string status, int current);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Send of {MessageId} given back before calling Meta: its number's pacing could not be taken")]
    public static partial void GateUnavailable(this ILogger logger, Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} failed: its send kept failing and reached the poison queue")]
    public static partial void Poisoned(this ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} failed: its account stayed disconnected for {Held} after it was accepted")]
    public static partial void HeldTooLong(this ILogger logger, string messageId, TimeSpan held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Send of {MessageId} got {Code} {Title}: {Disposition}")]
    public static partial void ProviderRefused(this ILogger logger, string messageId, string code, string title, ErrorDisposition disposition);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} was claimed {Age} ago and never finished: marked delivery_unknown, not resent")]
    public static partial void DeliveryUnknown(this ILogger logger, string messageId, TimeSpan age);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Template sync for account {AccountId} failed: Meta {Code} {Title}")]
    public static partial void TemplateSyncFailed(this ILogger logger, string accountId, int code, string title);
}
