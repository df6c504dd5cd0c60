using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Http;
using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Pipeline;

/// <summary>
/// The auth gate: checks the credentials the function's <see cref="AccessAttribute"/> asks for, the caller's rate
/// limit (admitted in the same step), CSRF for cookie-authenticated writes, the scope and the role; leaves the caller on
/// the request for the function.
/// </summary>
public sealed class AccessGate(Authenticator authenticator)
{
    public const string ApiKeyHeader = "X-API-Key";
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>Null when the request may go on; otherwise the refusal to send.</summary>
    public async Task<ApiError?> AdmitAsync(HttpContext http, FunctionDescriptor function)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(function);
        if (function.Access is not { } access)
        {
            throw new InvalidOperationException($"Function {function.Name} does not declare [Access]; refusing to serve it.");
        }

        if (access.Credentials == Credentials.None)
        {
            return null;
        }

        var auth = await authenticator.AuthenticateAsync(http.Request.Headers[ApiKeyHeader], SessionCookie.Read(http.Request), http.RequestAborted).ConfigureAwait(false);
        if (!auth.Succeeded)
        {
            return auth.Error;
        }

        var (caller, csrfHash, rate) = auth.Value!;
        RateLimitHeaders.Write(http.Response, rate);
        if (!rate.Admitted)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(rate.RetryAfter.TotalSeconds));
            return new ApiError(ErrorCodes.RateLimited, $"Rate limit exceeded. Try again in {seconds} seconds.") { RetryAfter = TimeSpan.FromSeconds(seconds) };
        }

        if (access.Credentials == Credentials.Session && caller.ViaKey)
        {
            return new ApiError(ErrorCodes.SessionRequired, "This endpoint needs a logged-in session; an API key cannot use it.");
        }

        if (csrfHash is not null && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
            && !HttpMethods.IsOptions(http.Request.Method) && !CsrfMatches(http.Request.Headers[CsrfHeader], csrfHash))
        {
            return new ApiError(ErrorCodes.CsrfFailed, "Missing or wrong X-CSRF-Token header: send the csrf_token you got at login.");
        }

        if (access.Scope is { } scope && !caller.Has(scope))
        {
            return new ApiError(ErrorCodes.InsufficientScope, $"This request needs the '{scope}' scope.");
        }

        if (access.ManagersOnly && !Roles.IsManager(caller.Role))
        {
            return new ApiError(ErrorCodes.Forbidden, "Only owners and admins may do this.");
        }

        http.SetCaller(caller);
        return null;
    }

    private static bool CsrfMatches(string? sent, string expectedHash) =>
        !string.IsNullOrEmpty(sent) && sent.Length <= 128 && Secrets.HashesEqual(Secrets.Hash(sent), expectedHash);
}
