using System.Globalization;

namespace Aisoule.LocalHost;

/// <summary>
/// The Functions host's six-field NCRONTAB schedules (<c>second minute hour day month day-of-week</c>), for the
/// local host's timer triggers. Each field takes <c>*</c>, <c>*/n</c>, <c>a</c>, <c>a-b</c>, <c>a-b/n</c> and
/// comma lists; day-of-week is 0–6 from Sunday. Anything else is refused at start.
/// </summary>
internal sealed class NCrontab
{
    private readonly bool[][] _allowed;

    private NCrontab(bool[][] allowed) => _allowed = allowed;

    private static readonly (int Min, int Max)[] Ranges = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];

    public static NCrontab Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 6)
        {
            throw new FormatException($"'{expression}' is not a six-field NCRONTAB schedule (second minute hour day month day-of-week).");
        }

        return new NCrontab([.. fields.Select((f, i) => Field(f, Ranges[i].Min, Ranges[i].Max, expression))]);
    }

    /// <summary>The first matching second strictly after <paramref name="after"/> (UTC), within about a year.</summary>
    public DateTimeOffset Next(DateTimeOffset after)
    {
        var t = new DateTimeOffset(after.UtcDateTime.Ticks - (after.UtcDateTime.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero).AddSeconds(1);
        var limit = t.AddYears(1);
        while (t < limit)
        {
            if (!_allowed[4][t.Month] || !_allowed[3][t.Day] || !_allowed[5][(int)t.DayOfWeek])
            {
                t = new DateTimeOffset(t.Year, t.Month, t.Day, 0, 0, 0, TimeSpan.Zero).AddDays(1);
            }
            else if (!_allowed[2][t.Hour])
            {
                t = new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
            }
            else if (!_allowed[1][t.Minute])
            {
                t = new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0, TimeSpan.Zero).AddMinutes(1);
            }
            else if (!_allowed[0][t.Second])
            {
                t = t.AddSeconds(1);
            }
            else
            {
                return t;
            }
        }

        throw new InvalidOperationException("The schedule never fires.");
    }

    private static bool[] Field(string field, int min, int max, string expression)
    {
        var allowed = new bool[max + 1];
        foreach (var part in field.Split(','))
        {
            var (range, step) = part.Split('/') switch
            {
                [var r] => (r, 1),
                [var r, var s] when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 => (r, n),
                _ => throw Bad(expression),
            };
            var (from, to) = range switch
            {
                "*" => (min, max),
                _ when range.Split('-') is [var a, var b] => (Number(a, expression), Number(b, expression)),
                _ => (Number(range, expression), step > 1 ? max : Number(range, expression)),
            };
            if (from < min || to > max || from > to)
            {
                throw Bad(expression);
            }

            for (var v = from; v <= to; v += step)
            {
                allowed[v] = true;
            }
        }

        return allowed;
    }

    private static int Number(string text, string expression) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw Bad(expression);

    private static FormatException Bad(string expression) => new($"'{expression}' is not an NCRONTAB schedule this host understands.");
}
