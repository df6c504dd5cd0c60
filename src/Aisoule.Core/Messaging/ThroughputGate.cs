using System.Globalization;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging;

/// <summary>
/// Paces provider calls per sending number over every instance: each call takes the next slot on one schedule
/// per number (a row holding the last slot handed out, moved with ETag-guarded writes), slots at least
/// (1 s + <see cref="Tolerance"/>)/<c>throughput_mps</c> apart, then waits for its slot. Evenly spaced calls mean no second ever
/// holds more than the limit, wherever the second starts — also as Meta sees them, because every slot lies a
/// little ahead (<see cref="Lead"/>), so the time it takes to take the slot is not added to the call.
/// </summary>
public sealed class ThroughputGate(StorageAccount storage, TimeProvider clock)
{
    /// <summary>
    /// Any <c>throughput_mps</c> consecutive slots span a second plus this, so a call that reaches Meta up to this
    /// much later than its slot (a new connection, a busy machine) still cannot make a second hold one too many.
    /// At 80/s this paces at 76.9/s.
    /// </summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(40);

    /// <summary>How far ahead a slot is taken: more than a slot write takes, so the call leaves on time.</summary>
    public static readonly TimeSpan Lead = TimeSpan.FromMilliseconds(50);

    /// <summary>Waits for a slot; false when none is free within <paramref name="maxWait"/> (nothing is taken then).</summary>
    public async Task<bool> AcquireAsync(string phoneNumberId, int perSecond, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(MessagingNames.Throughput, cancellationToken).ConfigureAwait(false);
        var spacing = (TimeSpan.FromSeconds(1) + Tolerance) / perSecond;
        for (var attempt = 0; ; attempt++)
        {
            var found = await table.GetEntityIfExistsAsync<TableEntity>(phoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
            var now = clock.GetUtcNow();
            var last = found.HasValue && long.TryParse(found.Value!.GetString("Last"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
                ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
                : DateTimeOffset.MinValue;
            var slot = now + Lead;
            if (last != DateTimeOffset.MinValue && last + spacing > slot)
            {
                slot = last + spacing;
            }

            if (slot - now > maxWait)
            {
                return false;
            }

            var row = new TableEntity(phoneNumberId, "") { ["Last"] = slot.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) };
            try
            {
                if (found.HasValue)
                {
                    await table.UpdateEntityAsync(row, found.Value!.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await table.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another caller took this slot: take the next one.
                if (attempt > 2)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5)), cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            var wait = slot - clock.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, clock, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
    }
}
