namespace Aisoule.Core.Identity;

/// <summary>
/// What <see cref="AttemptThrottle"/> decided: admitted, with the attempt's stamp as stored (to settle or give it back
/// with), or refused, with how long to wait. <see cref="Busy"/>: refused only because attempts in flight held every
/// place, not because of failures.
/// </summary>
public sealed record AttemptReservation(DateTimeOffset Stamp, TimeSpan? RetryAfter)
{
    public bool Admitted => RetryAfter is null;

    public bool Busy { get; init; }
}
