using Aisoule.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Identity;

/// <summary>
/// Creates the first owner from <c>AISOULE_OWNER_EMAIL</c>/<c>AISOULE_OWNER_PASSWORD</c> at start if absent. Runs in
/// the background and retries while storage is down, so an outage never stops the host from starting.
/// </summary>
public sealed partial class OwnerBootstrapService(AccountService accounts, IOptions<OwnerOptions> owner, ILogger<OwnerBootstrapService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var (email, password) = (owner.Value.Email, owner.Value.Password);
        if (string.IsNullOrWhiteSpace(email) || string.IsNullOrEmpty(password))
        {
            return;
        }

        for (var delay = TimeSpan.FromSeconds(1); !stoppingToken.IsCancellationRequested; delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 60)))
        {
            try
            {
                var created = await accounts.EnsureOwnerAsync(email, password, owner.Value.Workspace, stoppingToken).ConfigureAwait(false);
                LogOwner(logger, created ? "Created" : "Found existing", owner.Value.Workspace);
                return;
            }
            catch (Exception ex) when (StorageFailures.IsUnavailable(ex))
            {
                LogRetry(logger, delay.TotalSeconds);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Outcome} owner account for workspace {Workspace}")]
    private static partial void LogOwner(ILogger logger, string outcome, string workspace);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage unreachable; creating the owner account again in {Seconds} s")]
    private static partial void LogRetry(ILogger logger, double seconds);
}
