using Aisoule.Core.Messaging.Sending;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Messaging.Sending;

/// <summary>Deletes Idempotency-Key records older than 24 hours, every hour at half past.</summary>
public sealed class IdempotencyPurgeFunctions(IdempotencyStore idempotency)
{
    [Function(nameof(PurgeIdempotencyKeys))]
    public async Task PurgeIdempotencyKeys([TimerTrigger("0 30 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        await idempotency.PurgeAsync(cancellationToken).ConfigureAwait(false);
}
