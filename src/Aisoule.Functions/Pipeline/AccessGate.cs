using Aisoule.Core.Identity;
using Aisoule.Core.RateLimiting;
using Aisoule.Core.Results;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

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

    /// <summary>Null when the request may go on (its caller is then on the request); otherwise the refusal to send.</summary>
    public async Task<ApiError?> AdmitAsync(HttpContext http, FunctionDescriptor function) =>
        Apply(http, await DecideAsync(http, function).ConfigureAwait(false), setCaller: true);

    /// <summary>
    /// The caller to run a read ahead of its admission with (see <see cref="ApiPipeline"/>): set for a GET without a
    /// body, to a function that does not <see cref="AccessAttribute.AwaitAdmission"/>, whose credentials this instance
    /// has seen working and which they would let in. Null otherwise: the request is admitted first, as every write is.
    /// </summary>
    public Caller? Recall(HttpContext http, FunctionDescriptor function)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(function);
        var request = http.Request;
        if (function.Access is not { Credentials: not Credentials.None, AwaitAdmission: false } access
            || !HttpMethods.IsGet(request.Method) || request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0
            || http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            return null;
        }

        var caller = authenticator.Recall(request.Headers[ApiKeyHeader], SessionCookie.Read(request));
        return caller is not null && Refusal(access, caller, csrfHash: null, request.Method, csrfSent: "") is null ? caller : null;
    }

    /// <summary>
    /// Authenticates and admits without touching the request: every header it needs is read before its first await, so
    /// the function may run beside it. <see cref="Apply"/> then puts the outcome on the request.
    /// </summary>
    public async Task<Admission> DecideAsync(HttpContext http, FunctionDescriptor function)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(function);
        if (function.Access is not { } access)
        {
            throw new InvalidOperationException($"Function {function.Name} does not declare [Access]; refusing to serve it.");
        }

        if (access.Credentials == Credentials.None)
        {
            return new Admission(null, null, null);
        }

        var request = http.Request;
        var (method, csrfSent) = (request.Method, request.Headers[CsrfHeader].ToString());
        var auth = await authenticator.AuthenticateAsync(request.Headers[ApiKeyHeader], SessionCookie.Read(request), http.RequestAborted).ConfigureAwait(false);
        if (!auth.Succeeded)
        {
            return new Admission(auth.Error, null, null);
        }

        var (caller, csrfHash, rate) = auth.Value!;
        if (!rate.Admitted)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(rate.RetryAfter.TotalSeconds));
            return new Admission(new ApiError(ErrorCodes.RateLimited, $"Rate limit exceeded. Try again in {seconds} seconds.") { RetryAfter = TimeSpan.FromSeconds(seconds) }, caller, rate);
        }

        return new Admission(Refusal(access, caller, csrfHash, method, csrfSent), caller, rate);
    }

    /// <summary>Writes the rate limit headers, and (with <paramref name="setCaller"/>) leaves an admitted caller on the request.</summary>
    public static ApiError? Apply(HttpContext http, Admission admission, bool setCaller)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(admission);
        if (admission.Rate is { } rate)
        {
            RateLimitHeaders.Write(http.Response, rate);
        }

        if (admission.Refusal is null && setCaller && admission.Caller is { } caller)
        {
            http.SetCaller(caller);
        }

        return admission.Refusal;
    }

    private static ApiError? Refusal(AccessAttribute access, Caller caller, string? csrfHash, string method, string csrfSent)
    {
        if (access.Credentials == Credentials.Session && caller.ViaKey)
        {
            return new ApiError(ErrorCodes.SessionRequired, "This endpoint needs a logged-in session; an API key cannot use it.");
        }

        if (csrfHash is not null && !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !HttpMethods.IsOptions(method) && !CsrfMatches(csrfSent, csrfHash))
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

        return null;
    }

    private static bool CsrfMatches(string? sent, string expectedHash) =>
        !string.IsNullOrEmpty(sent) && sent.Length <= 128 && Secrets.HashesEqual(Secrets.Hash(sent), expectedHash);
}

/// <summary>
/// What the gate decided: a refusal or none, the caller the credentials named (when they named one) and the rate
/// decision (when one was made). A credential-free function's admission is all nulls.
/// </summary>
public sealed record Admission(ApiError? Refusal, Caller? Caller, RateDecision? Rate);
