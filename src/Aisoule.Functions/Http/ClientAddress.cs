using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Http;

/// <summary>The caller's network address, for per-address login throttling.</summary>
public static class ClientAddress
{
    /// <summary>
    /// Azure's front end appends the address it saw to <c>X-Forwarded-For</c>; the last entry is the one a caller
    /// cannot forge. Without the header, the connection's own address.
    /// </summary>
    public static string Of(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var forwarded = request.Headers["X-Forwarded-For"].ToString();
        var last = forwarded.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return last ?? request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }
}
