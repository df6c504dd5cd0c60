namespace Aisoule.Core.Identity;

/// <summary>Workspace roles and what each may do. Owners and admins hold every scope; agents work the inbox.</summary>
public static class Roles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Agent = "agent";

    private static readonly string[] AgentScopes =
        [Scopes.ContactsRead, Scopes.ContactsWrite, Scopes.MessagesSend, Scopes.MessagesRead, Scopes.TemplatesRead, Scopes.CampaignsRead, Scopes.AccountsRead];

    public static IReadOnlyList<string> ScopesOf(string role) => role switch
    {
        Owner or Admin => Scopes.All,
        Agent => AgentScopes,
        _ => [],
    };

    public static bool IsManager(string role) => role is Owner or Admin;
}
