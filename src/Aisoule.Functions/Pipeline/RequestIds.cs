using System.Buffers;

namespace Aisoule.Functions.Pipeline;

/// <summary>Chooses a request's id: the caller's own <c>X-Request-Id</c> when it is sane, a fresh one otherwise.</summary>
public static class RequestIds
{
    public const string Header = "X-Request-Id";
    private const int MaxLength = 128;
    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:");

    public static string Accept(string? callerValue) =>
        callerValue is { Length: > 0 and <= MaxLength } && !callerValue.AsSpan().ContainsAnyExcept(Allowed)
            ? callerValue
            : "req_" + Guid.NewGuid().ToString("N");
}
