using System.IO.Hashing;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Aisoule.Core.Identity;

/// <summary>
/// <c>ak_live_</c> + 33 base62 characters carrying 192 random bits (24 bytes) + 6 base62 characters of
/// CRC-32 checksum, the shape secret scanners recognise (GitHub's tokens work the same way). A key whose checksum
/// fails is refused without touching storage.
/// </summary>
public static class ApiKeyFormat
{
    public const string Prefix = "ak_live_";
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static readonly System.Buffers.SearchValues<char> AlphabetChars = System.Buffers.SearchValues.Create(Alphabet);
    private const int BodyLength = 33;
    private const int ChecksumLength = 6;

    public static int Length => Prefix.Length + BodyLength + ChecksumLength;

    public static string Generate()
    {
        var body = Base62(new BigInteger(RandomNumberGenerator.GetBytes(24), isUnsigned: true), BodyLength);
        return Prefix + body + Checksum(Prefix + body);
    }

    public static bool IsWellFormed(string? key) =>
        key is not null
        && key.Length == Length
        && key.StartsWith(Prefix, StringComparison.Ordinal)
        && key.AsSpan(Prefix.Length).IndexOfAnyExcept(AlphabetChars) < 0
        && key.EndsWith(Checksum(key[..^ChecksumLength]), StringComparison.Ordinal);

    /// <summary>What the key list shows so a person can tell keys apart: the prefix and four characters.</summary>
    public static string DisplayPrefix(string key) => key[..(Prefix.Length + 4)];

    private static string Checksum(string text) =>
        Base62(Crc32.HashToUInt32(Encoding.ASCII.GetBytes(text)), ChecksumLength);

    private static string Base62(BigInteger value, int width)
    {
        var chars = new char[width];
        for (var i = width - 1; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value % 62)];
            value /= 62;
        }

        return new string(chars);
    }
}
