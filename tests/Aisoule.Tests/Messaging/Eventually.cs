using System.Diagnostics;

namespace Aisoule.Tests.Messaging;

/// <summary>Waits for what the queue-triggered side does in the background.</summary>
internal static class Eventually
{
    public static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? timeout = null, string? what = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"Not true within {limit}: {what ?? "condition"}; last value {value}");
            }

            await Task.Delay(100);
        }
    }
}
