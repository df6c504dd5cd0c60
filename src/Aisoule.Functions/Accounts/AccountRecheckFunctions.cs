using Aisoule.Core.Accounts;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Accounts;

/// <summary>
/// Re-checks disconnected accounts' stored tokens with Meta on a schedule (setting <c>AccountRecheckSchedule</c>,
/// every 15 minutes by default) and connects again those Meta accepts, so their held sends go out.
/// </summary>
public sealed class AccountRecheckFunctions(WhatsAppAccountService accounts)
{
    [Function(nameof(RecheckDisconnectedAccounts))]
    public async Task RecheckDisconnectedAccounts([TimerTrigger("%AccountRecheckSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        await accounts.RecheckDisconnectedAsync(cancellationToken).ConfigureAwait(false);
}
