using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace Aisoule.Functions.Identity;

/// <summary><c>/auth</c>: sign-up, login, logout, and who am I.</summary>
public sealed class AuthFunctions(AccountService accounts, SessionService sessions, IOptions<IdentityOptions> options)
{
    [Function(nameof(SignUp))]
    [Access(Credentials.None)]
    public async Task<ApiResult> SignUp(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/signup")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (options.Value.SignupEnabled != true)
        {
            return ApiResult.Failure(new ApiError(ErrorCodes.SignupDisabled, "Sign-up is turned off on this server."));
        }

        var body = await RequestBody.ReadAsync<SignupRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var signup = body.Value!;
        var outcome = await accounts.SignUpAsync(signup.Email!, signup.Password!, signup.Name!, signup.WorkspaceName!, ClientAddress.Of(request), cancellationToken).ConfigureAwait(false);
        return SignedIn(request, outcome, ApiResult.Created);
    }

    [Function(nameof(Login))]
    [Access(Credentials.None)]
    public async Task<ApiResult> Login(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/login")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<LoginRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var outcome = await accounts.LoginAsync(body.Value!.Email!, body.Value.Password!, ClientAddress.Of(request), cancellationToken).ConfigureAwait(false);
        return SignedIn(request, outcome, ApiResult.Ok);
    }

    [Function(nameof(Logout))]
    [Access(Credentials.Session)]
    public async Task<ApiResult> Logout(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "auth/logout")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        await sessions.EndAsync(request.Caller().SessionId!, cancellationToken).ConfigureAwait(false);
        SessionCookie.Clear(request.HttpContext.Response);
        return ApiResult.Ok(new { LoggedOut = true });
    }

    [Function(nameof(Me))]
    [Access(Credentials.SessionOrKey)]
    public async Task<ApiResult> Me(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "auth/me")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var caller = request.Caller();
        if (await accounts.GetProfileAsync(caller, cancellationToken).ConfigureAwait(false) is not { } profile)
        {
            return ApiResult.Failure(ApiError.NotFound("Your user no longer exists."));
        }

        var key = caller.ViaKey ? new { Id = caller.KeyId, Name = caller.KeyName, caller.Scopes } : null;
        return ApiResult.Ok(new { profile.User, profile.Workspace, caller.Role, Scopes = caller.Scopes, Key = key });
    }

    private static ApiResult SignedIn(HttpRequest request, Outcome<SignedIn> outcome, Func<object, ApiResult> success)
    {
        if (!outcome.Succeeded)
        {
            return ApiResult.Failure(outcome.Error!);
        }

        var signedIn = outcome.Value!;
        SessionCookie.Write(request.HttpContext.Response, signedIn.SessionToken, signedIn.ExpiresAt);
        return success(new { signedIn.User, signedIn.Workspace, signedIn.CsrfToken });
    }
}
