using System.Globalization;
using System.Security.Cryptography;

namespace Aisoule.Core.Identity;

/// <summary>
/// PBKDF2-HMAC-SHA256 through the framework's primitive, stored as <c>pbkdf2-sha256$iterations$salt$hash</c> so
/// the work factor can rise later without breaking existing hashes.
/// </summary>
public static class PasswordHasher
{
    public const int MinimumIterations = 600_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string Scheme = "pbkdf2-sha256";

    // Verified against when the email is unknown, at the configured work factor, so both answers take the same time.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> Decoys = new();

    public static string Hash(string password, int iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    public static bool Verify(string password, string? stored, int decoyIterations = MinimumIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        var parts = (stored ?? Decoys.GetOrAdd(decoyIterations, n => Hash(Secrets.NewToken(), n))).Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var iterations))
        {
            return false;
        }

        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, Convert.FromBase64String(parts[2]), iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected) && stored is not null;
    }
}
