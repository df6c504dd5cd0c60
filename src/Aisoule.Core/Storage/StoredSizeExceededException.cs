namespace Aisoule.Core.Storage;

/// <summary>A write that Table Storage would refuse for its size, stopped before it was sent: nothing was written.</summary>
public sealed class StoredSizeExceededException : Exception
{
    public StoredSizeExceededException()
    {
        Part = "";
    }

    public StoredSizeExceededException(string message)
        : base(message)
    {
        Part = "";
    }

    public StoredSizeExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
        Part = "";
    }

    public StoredSizeExceededException(int actionIndex, string part)
        : base($"Action {actionIndex} of a table write is too large for Table Storage in '{part}'; nothing was written.")
    {
        ActionIndex = actionIndex;
        Part = part;
    }

    /// <summary>The action of the transaction that does not fit.</summary>
    public int ActionIndex { get; }

    /// <summary>PartitionKey, RowKey, a property name, or * for the whole entity.</summary>
    public string Part { get; }
}
