using System.Diagnostics;
using System.Diagnostics.Metrics;
using Azure;

namespace Aisoule.Core.Storage;

/// <summary>
/// The one optimistic-concurrency loop: read, decide, write under the ETag (or as a transaction), and on a conflict
/// read and decide again. Core's ETag-guarded read-modify-write loops go through it, so they share one policy:
/// <list type="bullet">
/// <item>A conflict is what <see cref="IsConflict"/> says (a 409 or 412 from a single write or a transaction, or a
/// 404 because a row the write changes has vanished), or an attempt that found one by reading and said so with
/// <see cref="OptimisticAttempt{T}.Again"/>. Anything else ends the loop as it was thrown.</item>
/// <item>The first two retries go at once (the row moved once: read it and go); later ones wait a jittered
/// <see cref="BackOff"/> that grows with the conflicts, so writers piled on one row spread out.</item>
/// <item>It gives up after <see cref="RetryBound.Default"/> (30 attempts) unless the caller names another
/// <see cref="RetryBound"/>; giving up returns the caller's <c>gaveUp</c> value, its refusal.</item>
/// </list>
/// An attempt that must tell one conflict from another (a 409 on an event row meaning "applied before") catches it
/// itself and returns its outcome, or rethrows to go again; state that should survive an attempt (an index row found
/// missing) lives in the caller's locals. A caller that wants an exception on giving up throws it from <c>gaveUp</c>.
/// <code>
/// return await OptimisticRetry.RunAsync&lt;Outcome&lt;View&gt;&gt;(async attempt =>
/// {
///     var row = attempt.IsFirst &amp;&amp; cached is not null ? cached : await ReadAsync(cancellationToken);
///     if (row is null) return NotFound();
///     await table.UpdateEntityAsync(Changed(row), row.ETag, TableUpdateMode.Replace, cancellationToken);
///     return View.From(row);
/// }, gaveUp: () => Busy(), cancellationToken: cancellationToken);
/// </code>
/// </summary>
public static class OptimisticRetry
{
    /// <summary>The meter of storage contention: <see cref="ConflictsName"/> counts every attempt that met another writer.</summary>
    public const string MeterName = "Aisoule.Storage";

    public const string ConflictsName = "aisoule.storage.conflicts";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Conflicts = Meter.CreateCounter<long>(ConflictsName, "{conflict}", "Optimistic writes that met another writer and went again (or gave up).");

    /// <summary>Retries that go without waiting; the back-off starts after them.</summary>
    public const int ImmediateRetries = 2;

    /// <summary>
    /// Runs <paramref name="attempt"/> until it returns without a conflict, or the <paramref name="bound"/> is reached:
    /// then <paramref name="gaveUp"/> is what the loop returns. Each attempt must read what it decides on afresh (the
    /// first may use a copy the caller holds, <see cref="OptimisticAttempt{T}.IsFirst"/>).
    /// </summary>
    public static async Task<T> RunAsync<T>(
        Func<OptimisticAttempt<T>, Task<T>> attempt,
        Func<T> gaveUp,
        RetryBound? bound = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        ArgumentNullException.ThrowIfNull(gaveUp);
        var limit = bound ?? RetryBound.Default;
        var started = Stopwatch.GetTimestamp();
        var context = new OptimisticAttempt<T>();
        for (var number = 0; ; number++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            context.Start(number);
            try
            {
                var result = await attempt(context).ConfigureAwait(false);
                if (!context.Conflicted)
                {
                    return result;
                }
            }
            catch (Exception ex) when (IsConflict(ex))
            {
                // Read again and decide again: below.
            }

            Conflicts.Add(1);

            if (limit.Reached(number + 1, Stopwatch.GetElapsedTime(started)))
            {
                return gaveUp();
            }

            if (BackOff(number + 1) is { } wait && wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Did a write fail because someone else wrote first: a row it adds exists (409), a row it read has changed (412),
    /// or a row it changes has vanished (404, though not a missing table)? Transactions included.
    /// </summary>
    public static bool IsConflict(Exception exception) =>
        exception is RequestFailedException { Status: 409 or 412 } or RequestFailedException { Status: 404, ErrorCode: not "TableNotFound" };

    /// <summary>
    /// The wait before the next attempt after <paramref name="conflicts"/> conflicts: none for the first
    /// <see cref="ImmediateRetries"/>, then 1–20 ms (jittered) times the conflicts beyond them, at most ten times.
    /// </summary>
    public static TimeSpan BackOff(int conflicts) => conflicts <= ImmediateRetries
        ? TimeSpan.Zero
        : TimeSpan.FromMilliseconds(Random.Shared.Next(1, 20) * Math.Min(conflicts - ImmediateRetries, 10));
}
