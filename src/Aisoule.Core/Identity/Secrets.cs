using System.Security.Cryptography;
using System.Text;

namespace Aisoule.Core.Identity;

/// <summary>Random tokens and their SHA-256 fingerprints: what we store instead of a session token or key.</summary>
public static class Secrets
{
    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    public static string NewToken(int bytes = 32) => Base64Url(RandomNumberGenerator.GetBytes(bytes));

    public static string NewId(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool HashesEqual(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    /// <summary>Is this <paramref name="prefix"/> followed by exactly <paramref name="hexDigits"/> lowercase hex digits?</summary>
    public static bool IsId(string? value, string prefix, int hexDigits = 32) =>
        value is not null && prefix is not null && value.Length == prefix.Length + hexDigits && value.StartsWith(prefix, StringComparison.Ordinal)
        && value.AsSpan(prefix.Length).IndexOfAnyExcept(LowerHex) < 0;

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
