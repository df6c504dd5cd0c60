using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Storage;

/// <summary>Checks that Table Storage answers, within a short time so a health probe never hangs.</summary>
public sealed partial class StorageHealth(TableServiceClient tables, ILogger<StorageHealth> logger)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<HealthReport> CheckAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await foreach (var _ in tables.QueryAsync(maxPerPage: 1, cancellationToken: timeout.Token).AsPages(pageSizeHint: 1).ConfigureAwait(false))
            {
                break;
            }

            return new HealthReport("ok", "ok");
        }
        catch (Exception ex) when (StorageFailures.IsUnavailable(ex) || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogUnreachable(logger, ex.GetType().Name);
            return new HealthReport("degraded", "unreachable");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health check: storage unreachable ({Reason})")]
    private static partial void LogUnreachable(ILogger logger, string reason);
}
