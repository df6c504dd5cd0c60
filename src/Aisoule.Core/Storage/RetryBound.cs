namespace Aisoule.Core.Storage;

/// <summary>
/// When an <see cref="OptimisticRetry"/> loop gives up: after a number of attempts (<see cref="Default"/>: 30), or,
/// for a hot row where answering "wait" soon beats queueing the caller, after a time.
/// </summary>
public sealed record RetryBound
{
    private RetryBound(int? maxAttempts, TimeSpan? budget)
    {
        MaxAttempts = maxAttempts;
        Budget = budget;
    }

    /// <summary>30 attempts: dozens of writers racing on one row all get their turn.</summary>
    public static RetryBound Default { get; } = new(30, null);

    /// <summary>At most this many attempts (null when bounded by time).</summary>
    public int? MaxAttempts { get; }

    /// <summary>No new attempt after this long (null when bounded by attempts).</summary>
    public TimeSpan? Budget { get; }

    /// <summary>Gives up after <paramref name="maxAttempts"/> attempts.</summary>
    public static RetryBound Attempts(int maxAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        return new(maxAttempts, null);
    }

    /// <summary>Gives up once <paramref name="budget"/> has passed since the first attempt, however many that took.</summary>
    public static RetryBound Time(TimeSpan budget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, TimeSpan.Zero);
        return new(null, budget);
    }

    internal bool Reached(int attempts, TimeSpan elapsed) => Budget is { } budget ? elapsed >= budget : attempts >= MaxAttempts;
}
