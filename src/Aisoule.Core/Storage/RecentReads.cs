using System.Collections.Concurrent;

namespace Aisoule.Core.Storage;

/// <summary>
/// Values read from storage and kept for a while, one read at a time per key: callers that find a value too old while
/// a read of it is under way wait for that read instead of each reading again (a queue batch of 32 messages meeting an
/// expired value would otherwise read it 32 times at once).
/// </summary>
/// <remarks>At most <see cref="Capacity"/> keys are kept; past that the whole cache starts again.</remarks>
public sealed class RecentReads<TKey, TValue>(TimeProvider clock)
    where TKey : notnull
    where TValue : class
{
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<TKey, (TValue Value, DateTimeOffset At)> _seen = new();
    private readonly ConcurrentDictionary<TKey, Lazy<Task<TValue?>>> _reading = new();

    /// <summary>The value last read or set for <paramref name="key"/>, however old, without reading.</summary>
    public bool TryPeek(TKey key, out TValue value)
    {
        var found = _seen.TryGetValue(key, out var seen);
        value = found ? seen.Value : default!;
        return found;
    }

    /// <summary>What a write that just succeeded stored: the next reads get it without asking storage.</summary>
    public void Set(TKey key, TValue value)
    {
        var entry = (value, clock.GetUtcNow());
        Keep(key, entry, (_, _) => entry);
    }

    /// <summary>
    /// The value as of at most <paramref name="maxAge"/> ago, or as read now by <paramref name="read"/> (shared with
    /// every caller that asks while it runs). A null read is returned but not kept.
    /// </summary>
    public async Task<TValue?> GetAsync(TKey key, TimeSpan maxAge, Func<CancellationToken, Task<TValue?>> read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        if (_seen.TryGetValue(key, out var seen) && clock.GetUtcNow() - seen.At < maxAge)
        {
            return seen.Value;
        }

        return await Reading(key, read).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a read of <paramref name="key"/> in the background (the same shared read as <see cref="GetAsync"/>'s) when
    /// its value is older than <paramref name="maxAge"/> and none is under way, and returns at once. A failed read is
    /// dropped: the next look starts another.
    /// </summary>
    public void Refresh(TKey key, TimeSpan maxAge, Func<CancellationToken, Task<TValue?>> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        if ((_seen.TryGetValue(key, out var seen) && clock.GetUtcNow() - seen.At < maxAge) || _reading.ContainsKey(key))
        {
            return;
        }

        // Started on the thread pool: not even the read's first synchronous part runs on the caller's thread.
        _ = Task.Run(() => Reading(key, read)).ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The read of <paramref name="key"/> under way, or a new one.</summary>
    private Task<TValue?> Reading(TKey key, Func<CancellationToken, Task<TValue?>> read)
    {
        Lazy<Task<TValue?>>? created = null;
        var reading = _reading.GetOrAdd(key, k => created = new Lazy<Task<TValue?>>(() => ReadAsync(k, read)));
        if (ReferenceEquals(reading, created))
        {
            // The caller that started the read makes it leave when it ends, however its callers fare.
            _ = reading.Value.ContinueWith(_ => _reading.TryRemove(KeyValuePair.Create(key, reading)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return reading.Value;
    }

    private async Task<TValue?> ReadAsync(TKey key, Func<CancellationToken, Task<TValue?>> read)
    {
        var startedAt = clock.GetUtcNow();

        // The read is shared, so no one caller's cancellation stops it.
        var value = await read(CancellationToken.None).ConfigureAwait(false);
        if (value is not null)
        {
            // Aged from when the read began: a write this process made meanwhile (Set) is newer and stays.
            Keep(key, (value, startedAt), (_, current) => current.At > startedAt ? current : (value, startedAt));
        }

        return value;
    }

    private void Keep(TKey key, (TValue Value, DateTimeOffset At) entry, Func<TKey, (TValue Value, DateTimeOffset At), (TValue Value, DateTimeOffset At)> update)
    {
        if (_seen.Count >= Capacity)
        {
            _seen.Clear();
        }

        _seen.AddOrUpdate(key, entry, update);
    }
}
