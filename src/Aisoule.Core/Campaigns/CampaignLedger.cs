using Aisoule.Core.Messaging.Messages;
using Azure.Data.Tables;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// What a campaign message's change does to its recipient and the campaign's stats, added to the message's own
/// transaction (<see cref="MessageStore"/>): the recipient row follows its message's status, and one stats counter goes
/// down while another goes up, both under the transaction. A status seen twice is refused by its event row and moves
/// nothing; concurrent webhooks meet only on a counter shard's ETag. So the stats are exact at every moment.
/// </summary>
/// <remarks>
/// The recipient is updated without its ETag: once its message exists, only that message's transactions (serialised
/// by the message's ETag) write it. A retry gives the recipient a new message only after the old one failed for good,
/// and a failed message (other than <see cref="MessageLifecycle.DeliveryUnknownCode"/>, never retried) never moves again.
/// </remarks>
public static class CampaignLedger
{
    /// <summary>The error of a campaign message that was still queued when its campaign was cancelled.</summary>
    public const string CancelledCode = "campaign_cancelled";

    public static readonly MessageError Cancelled = new(CancelledCode, "The campaign was cancelled before this message was sent.");

    /// <summary>The recipient status a message's state puts its recipient in.</summary>
    public static string StatusOf(MessageEntity message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Status switch
        {
            MessageStatus.Queued or MessageStatus.Sending => RecipientStatus.Queued,
            MessageStatus.Sent => RecipientStatus.Sent,
            MessageStatus.Delivered => RecipientStatus.Delivered,
            MessageStatus.Read => RecipientStatus.Read,
            _ => message.ErrorCode == CancelledCode ? RecipientStatus.Cancelled : RecipientStatus.Failed,
        };
    }

    /// <summary>
    /// The recipient's change and the stats' deltas when <paramref name="before"/> became <paramref name="after"/>;
    /// nothing when the message is not a campaign's or its recipient's status stays.
    /// </summary>
    public static (TableTransactionAction? Recipient, IReadOnlyList<KeyValuePair<string, long>> Deltas) Change(MessageEntity before, MessageEntity after, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (after.CampaignId is not { Length: > 0 } campaignId)
        {
            return (null, []);
        }

        var (from, to) = (StatusOf(before), StatusOf(after));
        if (from == to)
        {
            return (null, []);
        }

        var failed = to is RecipientStatus.Failed;
        var row = new TableEntity(after.PartitionKey, CampaignKeys.Recipient(campaignId, after.ContactId))
        {
            ["Status"] = to,
            ["ErrorCode"] = failed ? after.ErrorCode ?? "" : "",
            ["ErrorTitle"] = failed ? after.ErrorTitle ?? "" : "",
            ["ErrorCategory"] = failed ? CampaignFailures.Categorize(after.ErrorCode) : "",
            ["UpdatedAt"] = now,
        };
        if (to is RecipientStatus.Sent or RecipientStatus.Delivered or RecipientStatus.Read)
        {
            row["EverSent"] = true;
        }

        return (new TableTransactionAction(TableTransactionActionType.UpsertMerge, row),
            [new(CampaignKeys.Stat(campaignId, from), -1), new(CampaignKeys.Stat(campaignId, to), 1)]);
    }
}
