using System.Security.Cryptography;
using System.Text;

namespace Aisoule.Core.WhatsApp;

/// <summary>Meta's <c>X-Hub-Signature-256</c>: <c>sha256=</c> + hex HMAC-SHA256 of the raw body with the app secret.</summary>
public static class WebhookSignature
{
    public static bool IsValid(ReadOnlySpan<byte> body, string? header, string? appSecret)
    {
        // An unresolved Key Vault reference is the reference's text, not a secret: refuse, as for no secret.
        if (UnresolvedReference.SecretOrNull(appSecret) is not { } secret || header is null || !header.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase) || header.Length != 7 + 64)
        {
            return false;
        }

        Span<byte> given = stackalloc byte[32];
        try
        {
            if (Convert.FromHexString(header.AsSpan(7), given, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
            {
                return false;
            }
        }
        catch (FormatException)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, expected);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    /// <summary>The header a body would carry (tests, the sandbox).</summary>
    public static string Sign(ReadOnlySpan<byte> body, string appSecret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(appSecret), body));
}
