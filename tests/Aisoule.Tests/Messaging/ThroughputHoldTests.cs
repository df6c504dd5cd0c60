using System.Globalization;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>Holds on a number's schedule after Meta's 130429, seen from two instances sharing the schedule row.</summary>
public sealed class ThroughputHoldTests : IAsyncLifetime
{
    private StorageAccount _storage = null!;
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        _storage = new StorageAccount(
            new TableServiceClient(Azurite.ConnectionString),
            new QueueServiceClient(Azurite.ConnectionString),
            Options.Create(new StorageOptions { Prefix = TestHost.NewPrefix() }));
        _table = await _storage.GetTableAsync(MessagingNames.Throughput);
    }

    public async Task DisposeAsync() => await _table.DeleteAsync();

    private static string NewNumber() => "1065" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task After_a_hold_no_instance_gets_a_slot_before_it_ends_even_one_holding_an_older_copy_of_the_schedule()
    {
        // At 5/s each write of the schedule takes one slot, so neither instance keeps a slot from before the hold.
        var number = NewNumber();
        var first = new ThroughputGate(_storage, TimeProvider.System);
        var second = new ThroughputGate(_storage, TimeProvider.System);
        Assert.True(await first.AcquireAsync(number, 5, TimeSpan.FromSeconds(1)));
        Assert.True(await second.AcquireAsync(number, 5, TimeSpan.FromSeconds(1)));

        var held = DateTimeOffset.UtcNow;
        await first.HoldAsync(number, TimeSpan.FromSeconds(2));
        var end = await first.ScheduledUntilAsync(number);
        Assert.NotNull(end);
        Assert.InRange(end.Value, held.AddSeconds(2).AddMilliseconds(-1), DateTimeOffset.UtcNow.AddSeconds(2));

        var slots = await Task.WhenAll(new[] { second, first }.Select(async gate =>
        {
            Assert.True(await gate.AcquireAsync(number, 5, TimeSpan.FromSeconds(5)));
            return DateTimeOffset.UtcNow;
        }));
        Assert.All(slots, at => Assert.True(at >= end.Value, $"a slot at {at:O}, before the hold's end {end.Value:O}"));
    }

    [Fact]
    public async Task The_holding_instance_drops_the_slots_it_had_taken_before_the_hold()
    {
        // At 80/s one write of the schedule takes 8 slots: 7 are still this instance's after the first call.
        var number = NewNumber();
        var gate = new ThroughputGate(_storage, TimeProvider.System);
        Assert.True(await gate.AcquireAsync(number, 80, TimeSpan.FromSeconds(1)));

        await gate.HoldAsync(number, TimeSpan.FromSeconds(1));
        var end = (await gate.ScheduledUntilAsync(number))!.Value;

        Assert.True(await gate.AcquireAsync(number, 80, TimeSpan.FromSeconds(5)));
        Assert.True(DateTimeOffset.UtcNow >= end, $"a slot before the hold's end {end:O}");
    }

    [Fact]
    public async Task A_hold_shorter_than_what_is_booked_moves_nothing()
    {
        var number = NewNumber();
        var booked = DateTimeOffset.UtcNow.AddHours(1);
        var written = await _table.AddEntityAsync(new TableEntity(number, "") { ["Last"] = booked.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) });

        await new ThroughputGate(_storage, TimeProvider.System).HoldAsync(number, TimeSpan.FromSeconds(2));

        var row = await _table.GetEntityAsync<TableEntity>(number, "");
        Assert.Equal(written.Headers.ETag, row.Value.ETag);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(booked.ToUnixTimeMilliseconds()), await new ThroughputGate(_storage, TimeProvider.System).ScheduledUntilAsync(number));
    }

    [Fact]
    public async Task A_number_never_paced_has_no_schedule_until_a_hold_starts_one()
    {
        var number = NewNumber();
        var gate = new ThroughputGate(_storage, TimeProvider.System);
        Assert.Null(await gate.ScheduledUntilAsync(number));

        var held = DateTimeOffset.UtcNow;
        await gate.HoldAsync(number, TimeSpan.FromSeconds(30));

        Assert.InRange((await gate.ScheduledUntilAsync(number))!.Value, held.AddSeconds(30).AddMilliseconds(-1), DateTimeOffset.UtcNow.AddSeconds(30));
        Assert.False(await new ThroughputGate(_storage, TimeProvider.System).AcquireAsync(number, 80, TimeSpan.FromSeconds(1)));
    }
}
