namespace Aisoule.Core.Results;

/// <summary>What a service returns: the value, or the expected failure that explains why there is none.</summary>
public readonly record struct Outcome<T>
{
    private Outcome(T? value, ApiError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public ApiError? Error { get; }

    public bool Succeeded => Error is null;

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(ApiError error) => new(default, error);
}
