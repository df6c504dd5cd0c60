using System.Globalization;
using Aisoule.Core.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Pipeline;

/// <summary><c>X-RateLimit-Limit</c>, <c>-Remaining</c> and <c>-Reset</c> (epoch seconds), on every authenticated answer.</summary>
public static class RateLimitHeaders
{
    public static void Write(HttpResponse response, RateDecision rate)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(rate);
        response.Headers["X-RateLimit-Limit"] = rate.Limit.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-RateLimit-Remaining"] = rate.Remaining.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-RateLimit-Reset"] = ((long)Math.Ceiling(rate.Reset.ToUnixTimeMilliseconds() / 1000.0)).ToString(CultureInfo.InvariantCulture);
    }
}
