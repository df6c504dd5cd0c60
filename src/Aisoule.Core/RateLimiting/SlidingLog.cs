using System.Globalization;

namespace Aisoule.Core.RateLimiting;

/// <summary>What the limiter decided, with what the rate-limit headers report.</summary>
public sealed record RateDecision(bool Admitted, int Limit, int Remaining, DateTimeOffset Reset, TimeSpan RetryAfter);

/// <summary>
/// A sliding log: the times of the requests admitted in the last minute (at most <c>PerMinute</c> of them).
/// "At most N in any rolling 60 s and M in any 1 s" is then exact — no window edges to burst across.
/// </summary>
public static class SlidingLog
{
    public static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    public static List<DateTimeOffset> Parse(string? log, DateTimeOffset now) =>
        [.. (log ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(t, CultureInfo.InvariantCulture)))
            .Where(t => t > now - Minute)
            .Order()];

    public static string Format(IEnumerable<DateTimeOffset> times) =>
        string.Join(' ', times.Select(t => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));

    /// <summary>Decides for one request at <paramref name="now"/>; when admitted, <paramref name="times"/> gains it.</summary>
    public static RateDecision Decide(List<DateTimeOffset> times, DateTimeOffset now, int perMinute, int perSecond)
    {
        ArgumentNullException.ThrowIfNull(times);
        var inSecond = times.Count(t => t > now - Second);
        if (times.Count >= perMinute || inSecond >= perSecond)
        {
            var minuteFree = times.Count >= perMinute ? times[^perMinute] + Minute : now;
            var secondFree = inSecond >= perSecond ? times[^perSecond] + Second : now;
            var free = minuteFree > secondFree ? minuteFree : secondFree;
            return new RateDecision(false, perMinute, Math.Max(0, perMinute - times.Count), ResetOf(times, now), free - now);
        }

        times.Add(now);
        return new RateDecision(true, perMinute, perMinute - times.Count, ResetOf(times, now), TimeSpan.Zero);
    }

    // When the whole minute's quota is back: a minute after the oldest request still in the window.
    private static DateTimeOffset ResetOf(List<DateTimeOffset> times, DateTimeOffset now) => times.Count == 0 ? now : times[0] + Minute;
}
