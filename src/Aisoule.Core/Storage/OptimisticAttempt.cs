namespace Aisoule.Core.Storage;

/// <summary>One pass of an <see cref="OptimisticRetry"/> loop: which one it is, and a way to call it a conflict.</summary>
public sealed class OptimisticAttempt<T>
{
    internal OptimisticAttempt()
    {
    }

    /// <summary>0 for the first attempt, then 1, 2, … after each conflict.</summary>
    public int Number { get; private set; }

    /// <summary>The first attempt, which may use a copy of the row the caller already holds instead of reading it.</summary>
    public bool IsFirst => Number == 0;

    internal bool Conflicted { get; private set; }

    /// <summary>
    /// Ends this attempt as a conflict the attempt found by reading (a row that appeared or vanished between two
    /// reads): the loop goes again, as after a 409 or 412. Return its value.
    /// </summary>
    public T Again()
    {
        Conflicted = true;
        return default!;
    }

    internal void Start(int number)
    {
        Number = number;
        Conflicted = false;
    }
}
