using Aisoule.Core.Results;
using Aisoule.Core.Templates;

namespace Aisoule.Core.Accounts;

/// <summary>
/// Adds, changes and removes a workspace's WhatsApp accounts with what follows from each: a new account or a new
/// token pulls the account's templates at once (best-effort, see <see cref="TemplateService.PullForAccountAsync"/>),
/// and a removed account's templates are forgotten. What the <c>/accounts</c> endpoints call, one call each.
/// </summary>
public sealed class AccountLifecycle(WhatsAppAccountService accounts, TemplateService templates)
{
    public async Task<Outcome<WhatsAppAccountEntity>> AddAsync(string workspaceId, NewAccount draft, CancellationToken cancellationToken = default)
    {
        var added = await accounts.AddAsync(workspaceId, draft, cancellationToken).ConfigureAwait(false);
        if (added.Succeeded)
        {
            await templates.PullForAccountAsync(workspaceId, added.Value!.RowKey, cancellationToken).ConfigureAwait(false);
        }

        return added;
    }

    public async Task<Outcome<WhatsAppAccountEntity>> UpdateAsync(string workspaceId, string accountId, AccountChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var updated = await accounts.UpdateAsync(workspaceId, accountId, change, cancellationToken).ConfigureAwait(false);
        if (updated.Succeeded && change.AccessToken is not null)
        {
            await templates.PullForAccountAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);
        }

        return updated;
    }

    public async Task<Outcome<WhatsAppAccountEntity>> RemoveAsync(string workspaceId, string accountId, CancellationToken cancellationToken = default)
    {
        var removed = await accounts.RemoveAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);
        if (removed.Succeeded)
        {
            await templates.ForgetAccountAsync(workspaceId, accountId, cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }
}
