using Aisoule.Core.Messaging;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Messaging;

/// <summary>Deletes Idempotency-Key records older than 24 hours, every hour at half past.</summary>
public sealed class IdempotencyPurgeFunctions(IdempotencyPurge purge)
{
    [Function(nameof(PurgeIdempotencyKeys))]
    public async Task PurgeIdempotencyKeys([TimerTrigger("0 30 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        await purge.PurgeAsync(cancellationToken).ConfigureAwait(false);
}
