using System.Collections.Concurrent;
using System.Globalization;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Messaging.Dispatch;

/// <summary>
/// Paces provider calls per sending number over every instance. Calls go out in slots on one schedule per number,
/// slots at least (1 s + <see cref="Tolerance"/>)/<c>throughput_mps</c> apart, so no second ever holds more than the
/// limit, wherever it starts. The schedule's end lives in one row per number, moved with ETag-guarded writes; an
/// instance takes a few slots per write (a tenth of a second's worth) and hands them to its own callers, so the
/// row is written a few times a second, not once per message. Every slot lies a little ahead (<see cref="Lead"/>)
/// so the time spent taking it is not added to the call; a slot whose time has passed unused is dropped, never
/// used late. After Meta's 130429 the number's schedule is pushed past a hold (<see cref="HoldAsync"/>).
/// </summary>
public sealed class ThroughputGate(StorageAccount storage, TimeProvider clock)
{
    /// <summary>
    /// Any <c>throughput_mps</c> consecutive slots span a second plus this, so a call that reaches Meta up to this
    /// much later than its slot (a new connection, a busy machine) still cannot make a second hold one too many.
    /// At 80/s this paces at 76.9/s.
    /// </summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(40);

    /// <summary>How far ahead slots are taken: more than a slot write takes, so calls leave on time.</summary>
    public static readonly TimeSpan Lead = TimeSpan.FromMilliseconds(50);

    private const int MaxMissedSlots = 4;
    private static readonly TimeSpan Late = TimeSpan.FromMilliseconds(2);
    private readonly ConcurrentDictionary<string, Schedule> _schedules = new(StringComparer.Ordinal);

    /// <summary>
    /// Waits for a slot; false when none is free within <paramref name="maxWait"/> (nothing is taken then), or when
    /// this process kept waking up too late for its slots (a starved machine): a call made well after its slot
    /// would land next to the following slot's call and crowd a second.
    /// </summary>
    public async Task<bool> AcquireAsync(string phoneNumberId, int perSecond, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        var schedule = _schedules.GetOrAdd(phoneNumberId, _ => new Schedule());
        for (var missed = 0; missed < MaxMissedSlots; missed++)
        {
            DateTimeOffset slot;
            await schedule.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var now = clock.GetUtcNow();
                while (schedule.Slots.Count > 0 && schedule.Slots.Peek() < now + Late)
                {
                    schedule.Slots.Dequeue();
                }

                if (schedule.Slots.Count == 0 && !await ReserveAsync(schedule, phoneNumberId, perSecond, maxWait, cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }

                slot = schedule.Slots.Dequeue();
            }
            finally
            {
                schedule.Lock.Release();
            }

            var wait = slot - clock.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, clock, cancellationToken).ConfigureAwait(false);
            }

            if (clock.GetUtcNow() - slot <= Tolerance)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// After Meta's 130429 (too many calls for the number), pushes the number's schedule so that no instance takes a slot
    /// before now + <paramref name="hold"/>: the row's end moves forward to then (never back: a hold shorter than what
    /// is already booked moves nothing), under its ETag, and this instance's slots of the number not yet handed out and
    /// earlier than then are dropped. Other instances keep the slots they took before the hold, at most one block each
    /// (a tenth of a second's worth, or a single slot below 10/s) plus <see cref="Lead"/>; a caller already waiting
    /// for its slot keeps it too.
    /// </summary>
    public async Task HoldAsync(string phoneNumberId, TimeSpan hold, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(phoneNumberId);
        ArgumentOutOfRangeException.ThrowIfLessThan(hold, TimeSpan.Zero);
        var schedule = _schedules.GetOrAdd(phoneNumberId, _ => new Schedule());
        await schedule.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var until = clock.GetUtcNow() + hold;
            while (schedule.Slots.Count > 0 && schedule.Slots.Peek() < until)
            {
                schedule.Slots.Dequeue();
            }

            var table = await storage.GetTableAsync(MessagingNames.Throughput, cancellationToken).ConfigureAwait(false);
            await OptimisticRetry.RunAsync<bool>(async attempt =>
            {
                if (schedule.Row is null || !attempt.IsFirst)
                {
                    var found = await table.GetEntityIfExistsAsync<TableEntity>(phoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
                    schedule.Row = found.HasValue ? found.Value : null;
                }

                if (LastOf(schedule.Row) is { } last && last >= until)
                {
                    return true;
                }

                var next = new TableEntity(phoneNumberId, "") { ["Last"] = until.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) };
                var response = schedule.Row is { } current
                    ? await table.UpdateEntityAsync(next, current.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false)
                    : await table.AddEntityAsync(next, cancellationToken).ConfigureAwait(false);
                next.ETag = response.Headers.ETag ?? ETag.All;
                schedule.Row = next;
                return true;
            },
            // So contended that no write landed: others are moving the schedule forward anyway; the dispatcher's
            // back-off still delays the send that met the 130429.
            gaveUp: () => false,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            schedule.Lock.Release();
        }
    }

    /// <summary>Where the number's schedule ends now (its last slot taken, or a hold's end); null if it has none yet.</summary>
    public async Task<DateTimeOffset?> ScheduledUntilAsync(string phoneNumberId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(phoneNumberId);
        var table = await storage.GetTableAsync(MessagingNames.Throughput, cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<TableEntity>(phoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? LastOf(found.Value) : null;
    }

    private static DateTimeOffset? LastOf(TableEntity? row) =>
        row is not null && long.TryParse(row.GetString("Last"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    /// <summary>Takes the next few slots of the number's schedule for this instance.</summary>
    private async Task<bool> ReserveAsync(Schedule schedule, string phoneNumberId, int perSecond, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(MessagingNames.Throughput, cancellationToken).ConfigureAwait(false);
        var spacing = (TimeSpan.FromSeconds(1) + Tolerance) / perSecond;
        var block = Math.Clamp(perSecond / 10, 1, 16);
        return await OptimisticRetry.RunAsync<bool>(async attempt =>
        {
            // The row as last written here saves a read; after a conflict another instance moved the schedule, so
            // read where it ends now.
            if (schedule.Row is null || !attempt.IsFirst)
            {
                var found = await table.GetEntityIfExistsAsync<TableEntity>(phoneNumberId, "", cancellationToken: cancellationToken).ConfigureAwait(false);
                schedule.Row = found.HasValue ? found.Value : null;
            }

            var now = clock.GetUtcNow();
            var first = now + Lead;
            if (LastOf(schedule.Row) is { } last && last + spacing > first)
            {
                first = last + spacing;
            }

            if (first - now > maxWait)
            {
                return false;
            }

            var slots = Enumerable.Range(0, block).Select(i => first + (spacing * i)).ToList();
            var next = new TableEntity(phoneNumberId, "") { ["Last"] = slots[^1].ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) };
            var response = schedule.Row is { } current
                ? await table.UpdateEntityAsync(next, current.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false)
                : await table.AddEntityAsync(next, cancellationToken).ConfigureAwait(false);
            next.ETag = response.Headers.ETag ?? ETag.All;
            schedule.Row = next;
            foreach (var slot in slots)
            {
                schedule.Slots.Enqueue(slot);
            }

            return true;
        },
        // So contended that no write landed: no slot now, as when the schedule is full (the send waits and comes back).
        gaveUp: () => false,
        cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private sealed class Schedule
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);

        public Queue<DateTimeOffset> Slots { get; } = new();

        /// <summary>The row as this instance last read or wrote it (its ETag guards the next write).</summary>
        public TableEntity? Row { get; set; }
    }
}
