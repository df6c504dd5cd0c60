using System.Security.Cryptography;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Xunit;

namespace Aisoule.Tests.Campaigns;

/// <summary>Unique recipients per portfolio per rolling 24 hours, counted against the messaging-limit cap.</summary>
public sealed class ReachLedgerTests : IAsyncLifetime
{
    private const string Workspace = "ws_0123456789abcdef01234567";
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 10, 17, 0, TimeSpan.Zero);

    private StorageAccount _storage = null!;

    public Task InitializeAsync()
    {
        _storage = new StorageAccount(
            new TableServiceClient(Azurite.ConnectionString),
            new QueueServiceClient(Azurite.ConnectionString),
            Options.Create(new StorageOptions { Prefix = TestHost.NewPrefix() }));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await (await _storage.GetTableAsync(CampaignNames.Reach)).DeleteAsync();

    private static string NewWaba() => "10" + RandomNumberGenerator.GetInt32(100_000_000, 999_999_999);

    private static List<string> NewContacts(int count) =>
        Enumerable.Range(0, count).Select(_ => "ct_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12))).ToList();

    [Fact]
    public async Task With_a_cap_of_3_three_of_five_new_contacts_go_and_two_wait_until_the_oldest_hour_leaves_the_window()
    {
        var ledger = new ReachLedger(_storage);
        var waba = NewWaba();
        var contacts = NewContacts(5);

        var reservation = await ledger.ReserveAsync(waba, Workspace, contacts, 3, Now);

        Assert.Equal(contacts[..3], reservation.Allowed);
        Assert.Equal(contacts[3..], reservation.Waiting);
        Assert.Equal(3, reservation.Used);
        // Counted in the 10:00 hour: the count holds until that hour's end + 24 h.
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 11, 0, 0, TimeSpan.Zero), reservation.FreesAt);
        Assert.Equal(3, await ledger.UsedAsync(waba, Now));
    }

    [Fact]
    public async Task A_contact_counted_within_24_hours_is_allowed_again_without_counting_twice_even_at_the_cap()
    {
        var ledger = new ReachLedger(_storage);
        var waba = NewWaba();
        var contacts = NewContacts(2);
        Assert.Equal([contacts[0]], (await ledger.ReserveAsync(waba, Workspace, [contacts[0]], 2, Now)).Allowed);

        var later = await ledger.ReserveAsync(waba, Workspace, [contacts[0], contacts[1], contacts[0]], 2, Now.AddHours(23));
        Assert.Equal(contacts, later.Allowed);
        Assert.Empty(later.Waiting);
        Assert.Null(later.FreesAt);
        Assert.Equal(2, later.Used);

        var atTheCap = await ledger.ReserveAsync(waba, Workspace, contacts, 2, Now.AddHours(23).AddMinutes(30));
        Assert.Equal(contacts, atTheCap.Allowed);
        Assert.Equal(2, atTheCap.Used);
        Assert.Equal(2, await ledger.UsedAsync(waba, Now.AddHours(23).AddMinutes(30)));
    }

    [Fact]
    public async Task A_count_leaves_the_window_when_its_hour_has_ended_24_hours_ago_and_the_contact_then_counts_again()
    {
        var ledger = new ReachLedger(_storage);
        var waba = NewWaba();
        var contacts = NewContacts(2);
        await ledger.ReserveAsync(waba, Workspace, [contacts[0]], 1, Now);

        // Hour buckets: counted at 10:17, it stays in the sum until 11:00 the next day.
        Assert.Equal(1, await ledger.UsedAsync(waba, Now.AddHours(24).AddMinutes(42)));
        Assert.Equal(0, await ledger.UsedAsync(waba, Now.AddHours(24).AddMinutes(43)));

        var again = await ledger.ReserveAsync(waba, Workspace, contacts, 1, Now.AddHours(25));
        Assert.Equal([contacts[0]], again.Allowed);
        Assert.Equal([contacts[1]], again.Waiting);
        Assert.Equal(1, again.Used);
        Assert.Equal(1, await ledger.UsedAsync(waba, Now.AddHours(25)));
    }

    [Fact]
    public async Task Concurrent_reservations_on_two_instances_never_count_past_the_cap_together()
    {
        var ledgers = new[] { new ReachLedger(_storage), new ReachLedger(_storage) };
        var waba = NewWaba();
        var batches = Enumerable.Range(0, 6).Select(_ => NewContacts(8)).ToList();

        var reservations = await Task.WhenAll(batches.Select(async (batch, i) =>
        {
            await Task.Yield();
            return await ledgers[i % 2].ReserveAsync(waba, Workspace, batch, 20, Now);
        }));

        Assert.Equal(20, reservations.Sum(r => r.Allowed.Count));
        Assert.Equal(48 - 20, reservations.Sum(r => r.Waiting.Count));
        Assert.All(reservations.Where(r => r.Waiting.Count > 0), r => Assert.NotNull(r.FreesAt));
        Assert.Equal(20, await ledgers[0].UsedAsync(waba, Now));
    }

    [Fact]
    public async Task A_list_longer_than_one_lease_holds_is_decided_in_order_up_to_the_cap()
    {
        // Four contacts per lease: ten contacts take three, and the cap falls inside the second.
        var ledger = new ReachLedger(_storage, chunkSize: 4);
        var waba = NewWaba();
        var contacts = NewContacts(10);
        await ledger.ReserveAsync(waba, Workspace, [contacts[9]], 7, Now);

        var reservation = await ledger.ReserveAsync(waba, Workspace, contacts, 7, Now);

        Assert.Equal([.. contacts[..6], contacts[9]], reservation.Allowed);
        Assert.Equal(contacts[6..9], reservation.Waiting);
        Assert.Equal(7, reservation.Used);
        Assert.Equal(7, await ledger.UsedAsync(waba, Now));
    }

    [Fact]
    public async Task A_lease_left_by_a_reservation_that_died_is_taken_over_once_it_runs_out()
    {
        var ledger = new ReachLedger(_storage);
        var waba = NewWaba();
        var table = await _storage.GetTableAsync(CampaignNames.Reach);
        var until = DateTimeOffset.UtcNow.AddSeconds(1);
        await table.AddEntityAsync(new TableEntity(waba + "|lease", "") { ["Until"] = until });

        var reservation = await ledger.ReserveAsync(waba, Workspace, NewContacts(1), 1, Now);

        Assert.True(DateTimeOffset.UtcNow >= until, "reserved while the lease was still held");
        Assert.Single(reservation.Allowed);
        Assert.False((await table.GetEntityIfExistsAsync<TableEntity>(waba + "|lease", "")).HasValue);
    }

    [Fact]
    public async Task Portfolios_are_counted_apart()
    {
        var ledger = new ReachLedger(_storage);
        var (full, other) = (NewWaba(), NewWaba());
        var contacts = NewContacts(2);
        await ledger.ReserveAsync(full, Workspace, [contacts[0]], 1, Now);

        var elsewhere = await ledger.ReserveAsync(other, Workspace, [contacts[1]], 1, Now);

        Assert.Equal([contacts[1]], elsewhere.Allowed);
        Assert.Equal(1, await ledger.UsedAsync(full, Now));
        Assert.Equal(1, await ledger.UsedAsync(other, Now));
    }
}
