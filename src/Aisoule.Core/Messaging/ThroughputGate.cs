using System.Globalization;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging;

/// <summary>
/// At most <c>throughput_mps</c> provider calls per sending number in any rolling second, over every instance: a
/// sliding log of the last second's call times in one row per number, taken with ETag-guarded writes (the same
/// scheme as the API rate limiter). A caller that finds the second full waits for the oldest call to age out.
/// </summary>
public sealed class ThroughputGate(StorageAccount storage, TimeProvider clock)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    /// <summary>Waits for a slot; false when none came within <paramref name="maxWait"/>.</summary>
    public async Task<bool> AcquireAsync(string phoneNumberId, int perSecond, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(MessagingNames.Throughput, cancellationToken).ConfigureAwait(false);
        var deadline = clock.GetUtcNow() + maxWait;
        for (var attempt = 0; ; attempt++)
        {
            var found = await table.GetEntityIfExistsAsync<TableEntity>(phoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
            var now = clock.GetUtcNow();
            var times = Parse(found.HasValue ? found.Value!.GetString("Log") : null).Where(t => t > now - Window).ToList();
            if (times.Count >= perSecond)
            {
                var free = times[^perSecond] + Window;
                if (free > deadline)
                {
                    return false;
                }

                await Task.Delay(free - now + TimeSpan.FromMilliseconds(1), clock, cancellationToken).ConfigureAwait(false);
                continue;
            }

            times.Add(now);
            var row = new TableEntity(phoneNumberId, "") { ["Log"] = string.Join(' ', times.Select(t => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture))) };
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

                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                if (clock.GetUtcNow() > deadline)
                {
                    return false;
                }

                if (attempt > 2)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5)), cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private static IEnumerable<DateTimeOffset> Parse(string? log) =>
        (log ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(t, CultureInfo.InvariantCulture)))
            .Order();
}
