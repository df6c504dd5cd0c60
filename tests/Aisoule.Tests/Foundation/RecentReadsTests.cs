using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Foundation;

public sealed class RecentReadsTests
{
    [Fact]
    public async Task Callers_that_find_a_value_too_old_at_once_share_one_read_and_the_next_read_comes_only_when_it_is_old_again()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var cache = new RecentReads<string, string>(clock);
        var reads = 0;
        var gate = new TaskCompletionSource();
        async Task<string?> Read(CancellationToken _)
        {
            Interlocked.Increment(ref reads);
            await gate.Task;
            return "v" + Volatile.Read(ref reads);
        }

        var callers = Enumerable.Range(0, 32).Select(_ => cache.GetAsync("k", TimeSpan.FromSeconds(1), Read)).ToList();
        gate.SetResult();
        Assert.All(await Task.WhenAll(callers), v => Assert.Equal("v1", v));
        Assert.Equal(1, reads);

        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal("v1", await cache.GetAsync("k", TimeSpan.FromSeconds(1), Read));
        Assert.Equal(1, reads);

        clock.Advance(TimeSpan.FromMilliseconds(600));
        Assert.Equal("v2", await cache.GetAsync("k", TimeSpan.FromSeconds(1), Read));
        Assert.Equal(2, reads);
    }

    [Fact]
    public async Task A_failed_read_is_not_kept_and_a_caller_giving_up_does_not_stop_the_read_for_the_others()
    {
        var cache = new RecentReads<string, string>(new ManualClock(DateTimeOffset.UnixEpoch));
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("k", TimeSpan.FromSeconds(1), _ => throw new InvalidOperationException("storage down")));

        var gate = new TaskCompletionSource();
        using var impatient = new CancellationTokenSource();
        var first = cache.GetAsync("k", TimeSpan.FromSeconds(1), async _ => { await gate.Task; return "fresh"; }, impatient.Token);
        var second = cache.GetAsync("k", TimeSpan.FromSeconds(1), _ => Task.FromResult<string?>("never"));
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        gate.SetResult();
        Assert.Equal("fresh", await second);
    }

    [Fact]
    public async Task A_value_set_by_a_write_is_served_without_a_read()
    {
        var cache = new RecentReads<string, string>(new ManualClock(DateTimeOffset.UnixEpoch));
        cache.Set("k", "written");
        Assert.Equal("written", await cache.GetAsync("k", TimeSpan.FromSeconds(1), _ => throw new InvalidOperationException("read")));
    }
}
