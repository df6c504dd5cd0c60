using Aisoule.Core.Identity;
using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Http;

/// <summary>Where the auth gate leaves the authenticated caller for the function to read.</summary>
public static class CallerAccess
{
    private static readonly object Key = new();

    public static Caller Caller(this HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.HttpContext.Items[Key] as Caller
            ?? throw new InvalidOperationException("No caller: the function did not declare [Access] with credentials.");
    }

    internal static void SetCaller(this HttpContext http, Caller caller) => http.Items[Key] = caller;

    internal static void ClearCaller(this HttpContext http) => http.Items.Remove(Key);

    /// <summary>The caller the gate admitted, or null (a public function, or not admitted).</summary>
    internal static Caller? FindCaller(this HttpContext http) => http.Items[Key] as Caller;
}
