using System.Globalization;
using Aisoule.Core.Messaging.Messages;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// Where a campaign's rows live.
/// <list type="bullet">
/// <item>Table <c>campaigns</c>, partition <c>{workspace}</c>: the campaign <c>c_{id}</c>, its fan-out state
/// <c>f_{id}</c>, Idempotency-Key records <c>ik_{hash}</c>, the list's count rows <c>n_total|nn</c>, and the
/// campaign's outbox events <c>o_campaign_…</c>. Partition <see cref="ActivePartition"/>: one row
/// <c>{workspace}|{id}</c> per campaign that still has work (scheduled, running, paused, or cancelled with recipients
/// left), which the watch timer reads.</item>
/// <item>Table <c>messages</c>, in the partition of the recipient's message (the last hex digit of the contact id,
/// which the message id is made to end in): the recipient <c>r_{campaign}_{contact}</c> and the campaign's stats
/// <c>x_{campaign}_{status}|nn</c> (<see cref="Storage.CounterShards"/>). So a message's every change and its
/// recipient's and the stats' are one transaction.</item>
/// </list>
/// </summary>
public static class CampaignKeys
{
    public const string Table = "campaigns";

    /// <summary>Steps of running campaigns (<see cref="CampaignStep"/>); the setting the trigger reads holds the physical name.</summary>
    public const string StepsQueue = "campaignsteps";

    public const string StepsQueueSetting = "CampaignStepsQueue";

    /// <summary>The NCRONTAB schedule of the timer that starts due campaigns and restarts stalled ones.</summary>
    public const string WatchScheduleSetting = "CampaignWatchSchedule";

    public const string DefaultWatchSchedule = "*/5 * * * * *";

    public const string ActivePartition = "~active";
    public const string CampaignPrefix = "c_";
    public const string FanoutPrefix = "f_";
    public const string IdempotencyPrefix = "ik_";
    public const string CountPrefix = "n_total|";
    public const string IdPrefix = "cmp_";
    public const string RecipientPrefix = "r_";
    public const string StatsPrefix = "x_";

    /// <summary>Shards of the list's count (campaigns are created one request at a time).</summary>
    public const int CountShards = 4;

    /// <summary>Newest first, on the scheme of contact ids.</summary>
    public static string NewId(DateTimeOffset now) => IdPrefix + Contacts.ContactKeys.NewId(now)[Contacts.ContactKeys.IdPrefix.Length..];

    public static bool IsId(string? id) => Identity.Secrets.IsId(id, IdPrefix, hexDigits: 24);

    /// <summary>A contact id (an audience's <c>contact_ids</c>, a recipients cursor).</summary>
    public static bool IsContactId(string? id) => Contacts.ContactKeys.IsId(id);

    public static string Campaign(string id) => CampaignPrefix + id;

    public static string Fanout(string id) => FanoutPrefix + id;

    public static string Active(string workspaceId, string id) => workspaceId + "|" + id;

    /// <summary>The message partition of a contact's recipient row (and of its messages from this campaign).</summary>
    public static string RecipientPartition(string workspaceId, string contactId) => workspaceId + "|" + contactId[^1];

    public static string Recipient(string campaignId, string contactId) => RecipientPrefix + campaignId + "_" + contactId;

    public static string RecipientRange(string campaignId) => RecipientPrefix + campaignId + "_";

    public static string ContactOf(string recipientRowKey) => recipientRowKey[(recipientRowKey.LastIndexOf('_') + 1)..];

    /// <summary>The counter of recipients in <paramref name="status"/> (a prefix ending in the separator).</summary>
    public static string Stat(string campaignId, string status) => StatsPrefix + campaignId + "_" + status + "|";

    public static string StatsRange(string campaignId) => StatsPrefix + campaignId + "_";

    /// <summary>The status a stats row counts: <c>x_{campaign}_{status}|nn</c>.</summary>
    public static string StatusOfStat(string rowKey)
    {
        var end = rowKey.LastIndexOf('|');
        var start = rowKey.LastIndexOf('_', end) + 1;
        return rowKey[start..end];
    }

    /// <summary>The campaign a stats row counts for.</summary>
    public static string CampaignOfStat(string rowKey) => rowKey.Substring(StatsPrefix.Length, IdPrefix.Length + 24);

    /// <summary>A message id whose last hex digit is <paramref name="digit"/>, so the message lands in its recipient's partition.</summary>
    public static string MessageIdIn(DateTimeOffset now, char digit) => MessageKeys.NewId(now)[..^1] + digit;

    /// <summary>When an id of this scheme was made (contacts' and campaigns' ids encode their creation time).</summary>
    public static DateTimeOffset CreatedAtOf(string id, string prefix)
    {
        var ticks = long.Parse(id.AsSpan(prefix.Length, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return new DateTimeOffset(DateTimeOffset.MaxValue.Ticks - ticks, TimeSpan.Zero);
    }

    public static IEnumerable<string> AllPartitions(string workspaceId) => MessageKeys.AllPartitions(workspaceId);
}
