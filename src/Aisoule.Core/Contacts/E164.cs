using PhoneNumbers;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Phone numbers in, E.164 out, checked by libphonenumber's metadata (not a pattern): <c>+919876543210</c>,
/// <c>919876543210</c>, <c>0091 98765-43210</c> and <c>+91 (98765) 43210</c> are one number.
/// </summary>
public static class E164
{
    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    /// <summary>The E.164 form, or null when it is not a valid number.</summary>
    public static string? Normalise(string? input)
    {
        if (string.IsNullOrWhiteSpace(input) || input.Length > 40)
        {
            return null;
        }

        var digits = new string([.. input.Where(c => char.IsAsciiDigit(c) || c == '+')]);
        if (input.Any(c => !(char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '.' or '(' or ')' or '/')) || digits.LastIndexOf('+') > 0)
        {
            return null;
        }

        // Without a country we read the number as international: 919876543210 and 0091… both mean +91….
        var international = digits.StartsWith('+') ? digits : "+" + (digits.StartsWith("00", StringComparison.Ordinal) ? digits[2..] : digits);
        try
        {
            var number = Util.Parse(international, null);
            return Util.IsValidNumber(number) ? Util.Format(number, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>A phone-number prefix for search: the digits a caller typed, with a leading <c>+</c>.</summary>
    public static string? SearchPrefix(string search)
    {
        ArgumentNullException.ThrowIfNull(search);
        var trimmed = search.Trim();
        if (trimmed.Length == 0 || !trimmed.All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')'))
        {
            return null;
        }

        var digits = new string([.. trimmed.Where(char.IsAsciiDigit)]);
        return digits.Length == 0 ? null : "+" + digits;
    }
}
