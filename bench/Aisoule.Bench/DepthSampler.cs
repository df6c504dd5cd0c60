using Aisoule.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Bench;

/// <summary>Samples a queue's depth every 250 ms until disposed; <see cref="Max"/> is the deepest seen, <see cref="Last"/> the latest.</summary>
internal sealed class DepthSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public DepthSampler(BenchHost host, string queueName)
    {
        _loop = Task.Run(async () =>
        {
            var queue = await host.Services.GetRequiredService<StorageAccount>().GetQueueAsync(queueName).ConfigureAwait(false);
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
            try
            {
                do
                {
                    try
                    {
                        var properties = await queue.GetPropertiesAsync(_stop.Token).ConfigureAwait(false);
                        Last = properties.Value.ApproximateMessagesCount;
                        Max = Math.Max(Max, Last);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // A sample the emulator did not answer: the next one will.
                    }
                }
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public long Max { get; private set; }

    public long Last { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
