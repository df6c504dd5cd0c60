using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Http;

/// <summary>The caller's network address, for per-address login throttling.</summary>
public static class ClientAddress
{
    /// <summary>
    /// The connection's address after the host's forwarded-headers step: the Functions worker takes it from the
    /// front end's <c>X-Forwarded-For</c> (and strips it from the header); the local host does the same only for a
    /// proxy named in <c>LocalHost:TrustedProxies</c> (none by default: the connection's own address). Never parsed
    /// from the header here, where any caller could write it.
    /// </summary>
    public static string Of(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var address = request.HttpContext.Connection.RemoteIpAddress;
        return address is null ? "unknown" : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
    }
}
