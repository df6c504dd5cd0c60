namespace Aisoule.Core.Campaigns;

/// <summary>
/// What <see cref="ReachLedger.ReserveAsync"/> decided: the contacts that may be sent now (counted, or counted before
/// within 24 hours), those that must wait for the window to free, the portfolio's count after this reservation, and
/// when some must wait, when the oldest counted hour leaves the window (<see cref="ReachLedger.BucketLife"/>; null if
/// nothing is counted that could free, as with a cap of 0).
/// </summary>
public sealed record ReachReservation(IReadOnlyList<string> Allowed, IReadOnlyList<string> Waiting, int Used, DateTimeOffset? FreesAt);
