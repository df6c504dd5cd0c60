using System.ComponentModel.DataAnnotations;
using Aisoule.Core.Accounts;
using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Accounts;

/// <summary><c>/accounts</c>: a workspace's WhatsApp numbers; tokens go in, never out (spec §5).</summary>
public sealed class AccountFunctions(WhatsAppAccountService accounts, AccountLifecycle lifecycle)
{
    [Function(nameof(ListAccounts))]
    [Access(Credentials.SessionOrKey, Scopes.AccountsRead, AwaitAdmission = true)] // adds the sandbox number on first sight
    public async Task<ApiResult> ListAccounts(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "accounts")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var list = await accounts.ListAsync(request.Caller().WorkspaceId, cancellationToken).ConfigureAwait(false);
        return ApiResult.Ok(new { Accounts = list.Select(AccountView.From).ToList() });
    }

    [Function(nameof(AddAccount))]
    [Access(Credentials.Session, ManagersOnly = true)]
    public async Task<ApiResult> AddAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "accounts")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var caller = request.Caller();

        var body = await RequestBody.ReadAsync<AddAccountRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var b = body.Value!;
        var outcome = await lifecycle.AddAsync(caller.WorkspaceId, new NewAccount(b.Name!, b.PhoneNumberId!, b.WabaId!, b.AccessToken!, b.ThroughputMps, b.IsDefault), cancellationToken).ConfigureAwait(false);

        return outcome.Succeeded ? ApiResult.Created(AccountView.From(outcome.Value!)) : ApiResult.Failure(outcome.Error!);
    }

    [Function(nameof(UpdateAccount))]
    [Access(Credentials.Session, ManagersOnly = true)]
    public async Task<ApiResult> UpdateAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "accounts/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var caller = request.Caller();

        var body = await RequestBody.ReadAsync<UpdateAccountRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var b = body.Value!;
        var outcome = await lifecycle.UpdateAsync(caller.WorkspaceId, id, new AccountChange(b.Name, b.AccessToken, b.ThroughputMps, b.IsDefault), cancellationToken).ConfigureAwait(false);

        return outcome.Succeeded ? ApiResult.Ok(AccountView.From(outcome.Value!)) : ApiResult.Failure(outcome.Error!);
    }

    [Function(nameof(RemoveAccount))]
    [Access(Credentials.Session, ManagersOnly = true)]
    public async Task<ApiResult> RemoveAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "accounts/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var caller = request.Caller();

        var outcome = await lifecycle.RemoveAsync(caller.WorkspaceId, id, cancellationToken).ConfigureAwait(false);

        return outcome.Succeeded ? ApiResult.Ok(AccountView.From(outcome.Value!)) : ApiResult.Failure(outcome.Error!);
    }
}

/// <summary><c>POST /accounts</c>.</summary>
public sealed record AddAccountRequest
{
    [Required(ErrorMessage = "Required.")]
    [StringLength(100, MinimumLength = 1, ErrorMessage = "1 to 100 characters.")]
    public string? Name { get; init; }

    [Required(ErrorMessage = "Required.")]
    [RegularExpression("^[0-9]{1,30}$", ErrorMessage = "Meta's phone_number_id: digits only.")]
    public string? PhoneNumberId { get; init; }

    [Required(ErrorMessage = "Required.")]
    [RegularExpression("^[0-9]{1,30}$", ErrorMessage = "Meta's WhatsApp Business Account id: digits only.")]
    public string? WabaId { get; init; }

    [Required(ErrorMessage = "Required.")]
    [StringLength(1000, MinimumLength = 10, ErrorMessage = "10 to 1,000 characters.")]
    public string? AccessToken { get; init; }

    [Range(1, 1000, ErrorMessage = "1 to 1,000 messages per second.")]
    public int? ThroughputMps { get; init; }

    public bool? IsDefault { get; init; }
}

/// <summary><c>PUT /accounts/{id}</c>: the fields present change, absent ones stay.</summary>
public sealed record UpdateAccountRequest
{
    [StringLength(100, MinimumLength = 1, ErrorMessage = "1 to 100 characters.")]
    public string? Name { get; init; }

    [StringLength(1000, MinimumLength = 10, ErrorMessage = "10 to 1,000 characters.")]
    public string? AccessToken { get; init; }

    [Range(1, 1000, ErrorMessage = "1 to 1,000 messages per second.")]
    public int? ThroughputMps { get; init; }

    public bool? IsDefault { get; init; }
}
