using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Aisoule.Core.Webhooks;

/// <summary>
/// The two signatures every delivery carries (spec §7):
/// <list type="bullet">
/// <item><c>X-Webhook-Signature</c>: lowercase hex HMAC-SHA256 of the raw body, keyed with the secret string exactly as
///       shown (its UTF-8 bytes, <c>whsec_</c> included), what the product's help page tells users to compute;</item>
/// <item>Standard Webhooks 1.0: <c>webhook-signature: v1,&lt;base64&gt;</c>, HMAC-SHA256 of <c>id.timestamp.body</c>
///       keyed with the base64-decoded part after <c>whsec_</c>; several secrets (a rotation) give several
///       space-separated signatures.</item>
/// </list>
/// </summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";

    /// <summary>A new secret: <c>whsec_</c> + base64 of 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Whether <paramref name="secret"/> is one we could have made (prefix, base64 of 24 to 64 bytes).</summary>
    public static bool IsSecret(string? secret)
    {
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var buffer = new byte[64];
        return Convert.TryFromBase64String(secret[SecretPrefix.Length..], buffer, out var written) && written is >= 24 and <= 64;
    }

    /// <summary><c>X-Webhook-Signature</c>: hex HMAC-SHA256 of <paramref name="body"/> keyed with the secret's UTF-8 bytes.</summary>
    public static string Hex(string secret, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
    }

    /// <summary>One Standard Webhooks signature, <c>v1,&lt;base64&gt;</c>.</summary>
    public static string StandardV1(string secret, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        if (!IsSecret(secret))
        {
            throw new ArgumentException("Not a whsec_ secret.", nameof(secret));
        }

        ArgumentException.ThrowIfNullOrEmpty(id);
        var key = Convert.FromBase64String(secret[SecretPrefix.Length..]);
        var prefix = Encoding.UTF8.GetBytes(id + "." + timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
    }

    /// <summary>
    /// The headers of one delivery signed with <paramref name="secrets"/> (the current one first, then one still valid
    /// after a rotation): <c>X-Webhook-Signature</c> with the current one (and <c>X-Webhook-Signature-Previous</c> with
    /// the previous one), <c>webhook-signature</c> with each.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Headers(IReadOnlyList<string> secrets, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        if (secrets.Count == 0)
        {
            throw new ArgumentException("At least one secret.", nameof(secrets));
        }

        var standard = new List<string>(secrets.Count);
        foreach (var secret in secrets)
        {
            standard.Add(StandardV1(secret, id, timestamp, body));
        }

        List<KeyValuePair<string, string>> headers =
        [
            new("webhook-id", id),
            new("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture)),
            new("webhook-signature", string.Join(' ', standard)),
            new("X-Webhook-Signature", Hex(secrets[0], body)),
        ];
        if (secrets.Count > 1)
        {
            // During a rotation a receiver checking the hex signature with the secret it still has finds it here.
            headers.Add(new("X-Webhook-Signature-Previous", Hex(secrets[1], body)));
        }

        return headers;
    }
}
