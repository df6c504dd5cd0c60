namespace Aisoule.Core.Identity;

/// <summary>The permissions a role grants and an API key may be narrowed to (spec §2).</summary>
public static class Scopes
{
    public const string ContactsRead = "contacts:read";
    public const string ContactsWrite = "contacts:write";
    public const string MessagesSend = "messages:send";
    public const string MessagesRead = "messages:read";
    public const string TemplatesRead = "templates:read";
    public const string CampaignsRead = "campaigns:read";
    public const string CampaignsWrite = "campaigns:write";
    public const string AccountsRead = "accounts:read";
    public const string WebhooksManage = "webhooks:manage";

    public static IReadOnlyList<string> All { get; } =
        [ContactsRead, ContactsWrite, MessagesSend, MessagesRead, TemplatesRead, CampaignsRead, CampaignsWrite, AccountsRead, WebhooksManage];

    public static bool IsKnown(string scope) => All.Contains(scope, StringComparer.Ordinal);
}
