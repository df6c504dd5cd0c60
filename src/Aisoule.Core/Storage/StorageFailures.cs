using System.Net.Sockets;
using Azure;

namespace Aisoule.Core.Storage;

/// <summary>Tells "storage could not be reached" (a 503 for the caller) from every other failure.</summary>
public static class StorageFailures
{
    // Table Storage's codes for a value it will not store (Azurite answers InvalidInput for an over-long key).
    private static readonly HashSet<string> RefusedValueCodes = new(StringComparer.Ordinal)
    {
        "PropertyValueTooLarge", "KeyValueTooLarge", "EntityTooLarge", "RequestBodyTooLarge", "InvalidInput",
        "PropertyNameTooLong", "OutOfRangeInput", "InvalidValueType", "MessageTooLarge",
    };

    public static bool IsUnavailable(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case RequestFailedException { Status: 0 or 500 or 503 or 502 or 504 }:
                case HttpRequestException:
                case SocketException:
                    return true;
                case AggregateException aggregate when aggregate.InnerExceptions.All(IsUnavailable):
                    return true;
                case TaskCanceledException when current.InnerException is TimeoutException:
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Did storage refuse a value the caller sent (its size or its characters), or did <see cref="StoredSize"/> stop
    /// the write before it was sent? A 400 for the caller, never a 500.
    /// </summary>
    public static bool IsValueRefused(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is StoredSizeExceededException
                || (current is RequestFailedException { Status: 400 } refused && RefusedValueCodes.Contains(refused.ErrorCode ?? "")))
            {
                return true;
            }
        }

        return false;
    }
}
