using System.Net;
using System.Net.Sockets;

namespace Aisoule.Core.Webhooks;

/// <summary>
/// Where a webhook may point (spec §7, SSRF): an absolute HTTPS URL with a host, never an address that reaches our own
/// network. The URL is checked when it is given; the address is checked again on each delivery, on the address the
/// connection is actually made to (<see cref="WebhookSender"/>), so a name that resolves elsewhere later (DNS
/// rebinding) is caught too. <c>Webhooks:AllowPrivateTargets</c> lifts both rules for local development only.
/// </summary>
public static class WebhookTargets
{
    public const int MaxUrlLength = 2_000;

    /// <summary>The problem with <paramref name="url"/> as a target, or null when it may be used.</summary>
    public static string? Problem(string? url, bool allowPrivate)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return "Required: the URL to deliver to.";
        }

        if (url.Length > MaxUrlLength)
        {
            return $"At most {MaxUrlLength:N0} characters.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || uri.Scheme is not ("https" or "http"))
        {
            return "Not an absolute https:// URL.";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !allowPrivate)
        {
            return "Must be https://.";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "No user name or password in the URL: put credentials in the path or query, or verify our signature instead.";
        }

        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            return "No #fragment: it is never sent.";
        }

        if (!allowPrivate)
        {
            if (IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var address) && Forbidden(address))
            {
                return "Points at a loopback, private, link-local or otherwise internal address.";
            }

            if (uri.IdnHost.Equals("localhost", StringComparison.OrdinalIgnoreCase) || uri.IdnHost.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            {
                return "Points at this machine (localhost).";
            }
        }

        return null;
    }

    /// <summary>
    /// Whether a connection to <paramref name="address"/> must be refused: unspecified, loopback, private (10/8,
    /// 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 — the cloud metadata address 169.254.169.254 among
    /// them — and fe80::/10), carrier-grade NAT (100.64/10), multicast, broadcast, the IETF's 192.0.0/24, the
    /// benchmarking 198.18/15, 0/8 and Azure's host address 168.63.129.16; an IPv4 address written as IPv6 (mapped,
    /// compatible, NAT64, 6to4, Teredo) is refused or judged as IPv4.
    /// </summary>
    public static bool Forbidden(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] switch
            {
                0 or 10 or 127 => true,
                100 => b[1] is >= 64 and <= 127,
                169 => b[1] == 254,
                172 => b[1] is >= 16 and <= 31,
                192 => (b[1] == 168) || (b[1] == 0 && b[2] == 0),
                168 => b[1] == 63 && b[2] == 129 && b[3] == 16, // Azure's host address (DNS, metadata, health)
                198 => b[1] is 18 or 19,
                >= 224 => true,
                _ => false,
            };
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
            {
                // ::/96, an IPv4 address written the old IPv6 way (::a.b.c.d): judged as the IPv4 address.
                return Forbidden(new IPAddress(b.AsSpan(12)));
            }

            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC // unique local fc00::/7
                || (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48 reach IPv4 inside
                || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) // Teredo 2001::/32 tunnels to IPv4
                || (b[0] == 0x20 && b[1] == 0x02); // 6to4 2002::/16 embeds an IPv4 address
        }

        return true;
    }
}
