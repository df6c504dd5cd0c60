using System.Net.Sockets;
using Azure;

namespace Aisoule.Core.Storage;

/// <summary>Tells "storage could not be reached" (a 503 for the caller) from every other failure.</summary>
public static class StorageFailures
{
    public static bool IsUnavailable(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case RequestFailedException { Status: 0 or 503 or 502 or 504 }:
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
}
