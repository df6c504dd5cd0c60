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

    /// <summary>The value last read or set for <paramref name="key"/> and when, without reading.</summary>
    public bool TryPeek(TKey key, out TValue value, out DateTimeOffset at)
    {
        var found = _seen.TryGetValue(key, out var seen);
        (value, at) = found ? seen : (default!, default);
        return found;
    }

    /// <summary>What a write that just succeeded stored: the next reads get it without asking storage.</summary>
    public void Set(TKey key, TValue value)
    {
        if (_seen.Count >= Capacity)
        {
            _seen.Clear();
        }

        _seen[key] = (value, clock.GetUtcNow());
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

        Lazy<Task<TValue?>>? created = null;
        var reading = _reading.GetOrAdd(key, k => created = new Lazy<Task<TValue?>>(() => ReadAsync(k, read)));
        if (ReferenceEquals(reading, created))
        {
            // The caller that started the read makes it leave when it ends, however its callers fare.
            _ = reading.Value.ContinueWith(_ => _reading.TryRemove(KeyValuePair.Create(key, reading)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return await reading.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<TValue?> ReadAsync(TKey key, Func<CancellationToken, Task<TValue?>> read)
    {
        var startedAt = clock.GetUtcNow();

        // The read is shared, so no one caller's cancellation stops it.
        var value = await read(CancellationToken.None).ConfigureAwait(false);
        if (value is not null)
        {
            if (_seen.Count >= Capacity)
            {
                _seen.Clear();
            }

            // Aged from when the read began: a write this process made meanwhile (Set) is newer and stays.
            _seen.AddOrUpdate(key, (value, startedAt), (_, current) => current.At > startedAt ? current : (value, startedAt));
        }

        return value;
    }
}
