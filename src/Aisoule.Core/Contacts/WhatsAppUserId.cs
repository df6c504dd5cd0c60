using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Meta's business-scoped user ids (BSUIDs): two capital letters (the country), a dot, an optional <c>ENT.</c>
/// (a parent BSUID) and 1 to 128 letters and digits, e.g. <c>US.13491208655302741918</c>. Taken whole, as Meta
/// requires, and never read as a phone number.
/// </summary>
public static partial class WhatsAppUserId
{
    /// <summary>The longest id the pattern allows (<c>XX.ENT.</c> + 128).</summary>
    public const int MaxLength = 7 + 128;

    public static bool IsValid([NotNullWhen(true)] string? id) => id is not null && Pattern().IsMatch(id);

    [GeneratedRegex(@"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Pattern();
}
