
namespace Aisoule.Core.Messaging;

/// <summary>Tables and queues of messaging (logical names; <see cref="Storage.StorageAccount"/> adds the prefix).</summary>
public static class MessagingNames
{
    public const string Accounts = "waaccounts";
    public const string PhoneNumbers = "waphonenumbers";
    public const string Templates = "watemplates";
    public const string Messages = "messages";
    public const string Wamids = "wamids";
    public const string Idempotency = "idempotency";
    public const string Throughput = "throughput";
    public const string Secrets = "secrets";

    /// <summary>Sends waiting for the dispatcher; the setting the queue trigger reads holds the physical name.</summary>
    public const string SendsQueue = "sends";

    /// <summary>Meta webhook bodies (and the sandbox's statuses) waiting to be applied.</summary>
    public const string InboundQueue = "wainbound";

    public const string SendsQueueSetting = "SendsQueue";
    public const string InboundQueueSetting = "InboundQueue";

    /// <summary>The template sync timer's NCRONTAB schedule (six fields, seconds first).</summary>
    public const string TemplateSyncScheduleSetting = "TemplateSyncSchedule";

    public const string DefaultTemplateSyncSchedule = "0 0 * * * *";

    /// <summary>The NCRONTAB schedule of the timer that re-checks disconnected accounts' tokens with Meta.</summary>
    public const string AccountRecheckScheduleSetting = "AccountRecheckSchedule";

    public const string DefaultAccountRecheckSchedule = "0 */15 * * * *";

    /// <summary>The NCRONTAB schedule of the timer that enqueues accepted sends whose queue write failed.</summary>
    public const string SendSweepScheduleSetting = "SendSweepSchedule";

    public const string DefaultSendSweepSchedule = "0 * * * * *";

    /// <summary>The settings the queue triggers read, for a storage prefix: the physical queue names.</summary>
    public static IReadOnlyDictionary<string, string> QueueSettings(string prefix) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [SendsQueueSetting] = prefix + SendsQueue,
        [InboundQueueSetting] = prefix + InboundQueue,
        [Campaigns.CampaignKeys.StepsQueueSetting] = prefix + Campaigns.CampaignKeys.StepsQueue,
        [Webhooks.OutboxRelay.QueueSetting] = prefix + Webhooks.OutboxRelay.Queue,
        [Webhooks.WebhookDeliverer.QueueSetting] = prefix + Webhooks.WebhookDeliverer.Queue,
    };

    /// <summary>Settings the local host fills in when unset, as local.settings.sample.json does for Core Tools.</summary>
    public static IReadOnlyDictionary<string, string> TriggerDefaults(string prefix) =>
        new Dictionary<string, string>(QueueSettings(prefix), StringComparer.Ordinal)
        {
            [TemplateSyncScheduleSetting] = DefaultTemplateSyncSchedule,
            [AccountRecheckScheduleSetting] = DefaultAccountRecheckSchedule,
            [SendSweepScheduleSetting] = DefaultSendSweepSchedule,
            [Campaigns.CampaignKeys.WatchScheduleSetting] = Campaigns.CampaignKeys.DefaultWatchSchedule,
            [Webhooks.OutboxRelay.SweepScheduleSetting] = Webhooks.OutboxRelay.DefaultSweepSchedule,
        };
}
