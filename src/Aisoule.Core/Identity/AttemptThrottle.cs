using System.Globalization;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Storage;
using Azure;

namespace Aisoule.Core.Identity;

/// <summary>
/// Counts attempts (logins, sign-ups) per key in Table Storage, so every instance sees one count. An attempt is
/// reserved on each of its counters (written under an ETag) before the work it guards, so parallel attempts count
/// as they arrive; the caller gives a reservation back when the attempt should not count (a successful login).
/// A counter at its limit refuses, and says how long until its oldest attempt leaves the window.
/// </summary>
public sealed class AttemptThrottle(StorageAccount storage, TimeProvider clock)
{
    // A key this contended is being hammered: answer "wait" rather than keep the caller (or storage) busy.
    private static readonly TimeSpan ContentionBudget = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Reserves one attempt on every counter, in order. Refused by one, it gives back what it reserved on the
    /// earlier ones: a refused attempt did nothing, so it counts nowhere.
    /// </summary>
    public async Task<AttemptReservation> ReserveAsync(IReadOnlyList<AttemptCounter> counters, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counters);

        // Stamped at the precision stored, so the stamp given back later is exactly the one written.
        var stamp = DateTimeOffset.FromUnixTimeMilliseconds(clock.GetUtcNow().ToUnixTimeMilliseconds());
        for (var i = 0; i < counters.Count; i++)
        {
            if (await ReserveOneAsync(counters[i], stamp, cancellationToken).ConfigureAwait(false) is { } wait)
            {
                for (var j = 0; j < i; j++)
                {
                    await ChangeAsync(counters[j], times => times.Remove(stamp), cancellationToken).ConfigureAwait(false);
                }

                return new AttemptReservation(stamp, TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds))));
            }
        }

        return new AttemptReservation(stamp, null);
    }

    /// <summary>Gives back one admitted reservation on one counter: that attempt no longer counts.</summary>
    public Task ReleaseAsync(AttemptCounter counter, AttemptReservation reservation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        return ChangeAsync(counter, times => times.Remove(reservation.Stamp), cancellationToken);
    }

    /// <summary>Forgets every attempt on one counter.</summary>
    public async Task ResetAsync(AttemptCounter counter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counter);
        var table = await storage.GetTableAsync(counter.Table, cancellationToken).ConfigureAwait(false);
        await table.DeleteEntityAsync(counter.Key, AttemptsEntity.Row, ETag.All, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TimeSpan?> ReserveOneAsync(AttemptCounter counter, DateTimeOffset stamp, CancellationToken cancellationToken)
    {
        TimeSpan? wait = null;
        var written = await ChangeAsync(counter, times =>
        {
            if (times.Count >= counter.Limit)
            {
                wait = times[^counter.Limit] + counter.Window - clock.GetUtcNow();
                return false;
            }

            times.Add(stamp);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return written ? null : wait ?? TimeSpan.FromSeconds(1);
    }

    /// <summary>
    /// Read, change, write under the ETag; again on a conflict, within a time budget. False when the change
    /// declined to write, or the row stayed too contended to write.
    /// </summary>
    private async Task<bool> ChangeAsync(AttemptCounter counter, Func<List<DateTimeOffset>, bool> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counter);
        var table = await storage.GetTableAsync(counter.Table, cancellationToken).ConfigureAwait(false);
        var deadline = clock.GetUtcNow() + ContentionBudget;
        for (var attempt = 0; ; attempt++)
        {
            var found = await table.GetEntityIfExistsAsync<AttemptsEntity>(counter.Key, AttemptsEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
            var entity = found.HasValue ? found.Value! : new AttemptsEntity { PartitionKey = counter.Key };
            var times = Recent(entity, counter.Window);
            if (!change(times))
            {
                return false;
            }

            entity.Attempts = string.Join(' ', times.Order().Select(t => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
            try
            {
                if (found.HasValue)
                {
                    await table.UpdateEntityAsync(entity, entity.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                }

                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && clock.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25) * Math.Min(attempt + 1, 8)), cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                return false;
            }
        }
    }

    private List<DateTimeOffset> Recent(AttemptsEntity entity, TimeSpan window)
    {
        var since = clock.GetUtcNow() - window;
        return [.. entity.Attempts.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(t, CultureInfo.InvariantCulture)))
            .Where(t => t > since)
            .Order()];
    }
}
