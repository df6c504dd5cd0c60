using System.Globalization;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Identity;

/// <summary>
/// Counts attempts (logins, sign-ups) per key in Table Storage, so every instance sees one count. An attempt is
/// reserved on each of its counters (written under an ETag) before the work it guards, so parallel attempts count
/// as they arrive. A counter at its limit refuses, and says how long until its oldest attempt leaves the window.
/// <para>
/// An attempt whose outcome is not known yet (a login whose password is being checked) is reserved as <em>in
/// flight</em>: it holds a place, so no more attempts run at once than the limit allows, but it is not a failure.
/// The caller then settles it: <see cref="FailAsync"/> makes it a failure, <see cref="ReleaseAsync"/> gives it back.
/// An attempt that finds every place held by attempts in flight waits for one to settle rather than being refused,
/// so only failures ever lock a key out.
/// </para>
/// </summary>
public sealed class AttemptThrottle(StorageAccount storage, TimeProvider clock)
{
    // A key this contended is being hammered: answer "wait" rather than keep the caller (or storage) busy.
    private static readonly TimeSpan ContentionBudget = TimeSpan.FromSeconds(3);

    // How long an attempt waits for attempts in flight to settle before it is told to come back in a second.
    private static readonly TimeSpan InFlightBudget = TimeSpan.FromSeconds(15);

    // An attempt in flight for longer than this died unsettled (its process stopped): from then on it counts as a failure.
    private static readonly TimeSpan InFlightTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Reserves one attempt on every counter, in order, counted at once (a sign-up counts whatever its outcome).
    /// Refused by one, it gives back what it reserved on the earlier ones: a refused attempt counts nowhere.
    /// </summary>
    public Task<AttemptReservation> ReserveAsync(IReadOnlyList<AttemptCounter> counters, CancellationToken cancellationToken = default) =>
        ReserveAsync(counters, inFlight: false, cancellationToken);

    /// <summary>
    /// Reserves one attempt in flight on every counter: it holds a place until <see cref="FailAsync"/> or
    /// <see cref="ReleaseAsync"/> settles it. While the places left are all held by attempts in flight it waits
    /// (up to 15 s, then refuses with a one-second <c>Retry-After</c>); only failures refuse for the window.
    /// </summary>
    public async Task<AttemptReservation> BeginAsync(IReadOnlyList<AttemptCounter> counters, CancellationToken cancellationToken = default)
    {
        var deadline = clock.GetUtcNow() + InFlightBudget;
        for (var round = 0; ; round++)
        {
            var reservation = await ReserveAsync(counters, inFlight: true, cancellationToken).ConfigureAwait(false);
            if (!reservation.Busy || clock.GetUtcNow() >= deadline)
            {
                return reservation;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(50, 150) * Math.Min(round + 1, 4)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The attempt in flight failed: it counts against the counter from now on.</summary>
    public Task FailAsync(AttemptCounter counter, AttemptReservation reservation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        return ChangeAsync(counter, entries =>
        {
            var index = entries.IndexOf(new Entry(reservation.Stamp, InFlight: true));
            if (index < 0)
            {
                return false;
            }

            entries[index] = new Entry(reservation.Stamp, InFlight: false);
            return true;
        }, cancellationToken);
    }

    /// <summary>Gives back one admitted reservation on one counter: that attempt no longer counts.</summary>
    public Task ReleaseAsync(AttemptCounter counter, AttemptReservation reservation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        return ChangeAsync(counter, entries => entries.Remove(new Entry(reservation.Stamp, InFlight: true)) || entries.Remove(new Entry(reservation.Stamp, InFlight: false)), cancellationToken);
    }

    /// <summary>
    /// The attempt succeeded: forgets the counter's failures and gives this attempt's place back. Other attempts still
    /// in flight keep their places, so a success never lets more run at once than the limit.
    /// </summary>
    public Task ClearFailuresAsync(AttemptCounter counter, AttemptReservation reservation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        var mine = new Entry(reservation.Stamp, InFlight: true);
        return ChangeAsync(counter, entries => entries.Remove(mine) | entries.RemoveAll(e => !e.InFlight) > 0, cancellationToken);
    }

    private async Task<AttemptReservation> ReserveAsync(IReadOnlyList<AttemptCounter> counters, bool inFlight, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counters);

        // Stamped at the precision stored, so the stamp given back later is exactly the one written.
        var stamp = DateTimeOffset.FromUnixTimeMilliseconds(clock.GetUtcNow().ToUnixTimeMilliseconds());
        var entry = new Entry(stamp, inFlight);
        for (var i = 0; i < counters.Count; i++)
        {
            if (await ReserveOneAsync(counters[i], entry, cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                for (var j = 0; j < i; j++)
                {
                    await ChangeAsync(counters[j], entries => entries.Remove(entry), cancellationToken).ConfigureAwait(false);
                }

                return refusal;
            }
        }

        return new AttemptReservation(stamp, null);
    }

    /// <summary>Null when reserved; else the refusal (for the window, or busy with attempts in flight).</summary>
    private async Task<AttemptReservation?> ReserveOneAsync(AttemptCounter counter, Entry entry, CancellationToken cancellationToken)
    {
        AttemptReservation? refusal = null;
        var written = await ChangeAsync(counter, entries =>
        {
            var failures = entries.Where(e => !e.InFlight).Select(e => e.At).Order().ToList();
            if (failures.Count >= counter.Limit)
            {
                refusal = Refused(entry.At, failures[^counter.Limit] + counter.Window - clock.GetUtcNow());
                return false;
            }

            if (entries.Count >= counter.Limit)
            {
                // Every place left is held by an attempt still in flight: not a failure, so wait, don't lock out.
                refusal = Refused(entry.At, TimeSpan.FromSeconds(1)) with { Busy = true };
                return false;
            }

            entries.Add(entry);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return written ? null : refusal ?? Refused(entry.At, TimeSpan.FromSeconds(1));
    }

    private static AttemptReservation Refused(DateTimeOffset stamp, TimeSpan wait) =>
        new(stamp, TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds))));

    /// <summary>
    /// Read, change, write under the ETag; again on a conflict, within a time budget. False when the change
    /// declined to write, or the row stayed too contended to write.
    /// </summary>
    private async Task<bool> ChangeAsync(AttemptCounter counter, Func<List<Entry>, bool> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counter);
        var table = await storage.GetTableAsync(counter.Table, cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<bool>(async _ =>
        {
            var found = await table.GetEntityIfExistsAsync<AttemptsEntity>(counter.Key, AttemptsEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
            var entity = found.HasValue ? found.Value! : new AttemptsEntity { PartitionKey = counter.Key };
            var entries = Recent(entity, counter.Window);
            if (!change(entries))
            {
                return false;
            }

            entity.Attempts = string.Join(' ', entries.OrderBy(e => e.At).Select(e => e.ToToken()));
            if (found.HasValue)
            {
                await table.UpdateEntityAsync(entity, entity.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }, gaveUp: () => false, RetryBound.Time(ContentionBudget), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The attempts inside the window; one in flight for too long is a failure from then on.</summary>
    private List<Entry> Recent(AttemptsEntity entity, TimeSpan window)
    {
        var now = clock.GetUtcNow();
        return [.. entity.Attempts.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(Entry.Parse)
            .Select(e => e.InFlight && e.At < now - InFlightTimeout ? e with { InFlight = false } : e)
            .Where(e => e.At > now - window)
            .OrderBy(e => e.At)];
    }

    /// <summary>One attempt: stored as its Unix milliseconds, prefixed with <c>p</c> while it is in flight.</summary>
    private readonly record struct Entry(DateTimeOffset At, bool InFlight)
    {
        public static Entry Parse(string token) => token.StartsWith('p')
            ? new(DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(token.AsSpan(1), CultureInfo.InvariantCulture)), true)
            : new(DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(token, CultureInfo.InvariantCulture)), false);

        public string ToToken() => (InFlight ? "p" : "") + At.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
    }
}
