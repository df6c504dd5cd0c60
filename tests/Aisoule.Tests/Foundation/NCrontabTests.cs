using Aisoule.LocalHost;
using Xunit;

namespace Aisoule.Tests.Foundation;

public sealed class NCrontabTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 25, 10, 17, 42, TimeSpan.Zero);

    [Theory]
    [InlineData("0 0 * * * *", "2026-11-25T11:00:00Z")]
    [InlineData("*/15 * * * * *", "2026-11-25T10:17:45Z")]
    [InlineData("0 30 9 * * 1-5", "2026-11-26T09:30:00Z")]
    [InlineData("0 0 0 1 1 *", "2027-01-01T00:00:00Z")]
    [InlineData("5,10 * * * * *", "2026-11-25T10:18:05Z")]
    public void Next_occurrence_follows_the_six_field_schedule(string schedule, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), NCrontab.Parse(schedule).Next(At));

    [Theory]
    [InlineData("0 * * * *")]
    [InlineData("61 * * * * *")]
    [InlineData("0 0 * * * MON")]
    public void A_schedule_the_host_cannot_follow_is_refused_at_start(string schedule) =>
        Assert.Throws<FormatException>(() => NCrontab.Parse(schedule));
}
