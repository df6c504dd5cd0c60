using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Http;

/// <summary>The <c>aisoule_session</c> cookie: HttpOnly, SameSite=Lax, Path=/, Secure whenever the request was HTTPS.</summary>
public static class SessionCookie
{
    public const string Name = "aisoule_session";

    public static string? Read(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Cookies[Name];
    }

    public static void Write(HttpResponse response, string token, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Cookies.Append(Name, token, Options(response.HttpContext.Request, expiresAt));
    }

    public static void Clear(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Cookies.Delete(Name, Options(response.HttpContext.Request, DateTimeOffset.UnixEpoch));
    }

    private static CookieOptions Options(HttpRequest request, DateTimeOffset expiresAt) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        Path = "/",
        Expires = expiresAt,
        // Both hosts apply X-Forwarded-Proto from their front end before this runs, so IsHttps is the caller's scheme.
        Secure = request.IsHttps,
    };
}
