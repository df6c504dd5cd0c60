using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Results;
using Aisoule.Core.Templates;
using Aisoule.Core.WhatsApp;

namespace Aisoule.Core.Campaigns;

/// <summary>What a campaign asks of its template and its account: at creation, and again when it starts.</summary>
public sealed class CampaignChecks(SendRules rules, WhatsAppAccountService accounts, IWhatsAppProvider provider, ReachLedger reach)
{
    /// <summary>
    /// A send's template check (<see cref="SendRules.CheckTemplateAsync"/>): approved in this language, and the
    /// components fit its parameters, named or positional, each <c>{{contact…}}</c> expression standing for a value. So
    /// Meta's 132000 is never the first to say so.
    /// </summary>
    public async Task<Outcome<TemplateEntity>> CheckAsync(string workspaceId, WhatsAppAccountEntity account, string name, string language, string? componentsJson, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (componentsJson is null)
        {
            return await rules.CheckTemplateAsync(workspaceId, account, name, language, null, cancellationToken).ConfigureAwait(false);
        }

        using var components = JsonDocument.Parse(componentsJson);
        using var sample = JsonDocument.Parse(ContactVariables.Sample(components.RootElement));
        return await rules.CheckTemplateAsync(workspaceId, account, name, language, sample.RootElement, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The portfolio's messaging-limit tier and the unique out-of-window recipients it allows a day. No cap when it is
    /// unlimited, unknown, or could not be read (logged by the provider): a campaign is never blocked by a failed read.
    /// </summary>
    public async Task<(string? Tier, int? Cap)> MessagingLimitAsync(WhatsAppAccountEntity account, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        try
        {
            var result = await provider.GetMessagingLimitAsync(await accounts.ProviderAccountAsync(account, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            return result.Error is null ? (result.Tier, result.Cap) : (null, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or Azure.RequestFailedException or TaskCanceledException)
        {
            return (null, null);
        }
    }

    /// <summary>Unique out-of-window recipients counted for the portfolio in the last 24 hours.</summary>
    public async Task<long> UsedAsync(WhatsAppAccountEntity account, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        return await reach.UsedAsync(account.WabaId, now, cancellationToken).ConfigureAwait(false);
    }
}
