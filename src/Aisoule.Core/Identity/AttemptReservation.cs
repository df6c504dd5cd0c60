namespace Aisoule.Core.Identity;

/// <summary>
/// What <see cref="AttemptThrottle.ReserveAsync"/> decided: admitted, with the attempt's stamp as stored (to give it
/// back with), or refused, with how long to wait.
/// </summary>
public sealed record AttemptReservation(DateTimeOffset Stamp, TimeSpan? RetryAfter)
{
    public bool Admitted => RetryAfter is null;
}
