using Aisoule.Core.Identity;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Identity;

/// <summary><c>/keys</c>: create, list and revoke API keys. Sessions only: a key cannot mint keys.</summary>
public sealed class KeyFunctions(ApiKeyService keys)
{
    [Function(nameof(CreateKey))]
    [Access(Credentials.Session)]
    public async Task<ApiResult> CreateKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "keys")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<CreateKeyRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var outcome = await keys.CreateAsync(request.Caller(), body.Value!.Name!, body.Value.ExpiresAt, body.Value.Scopes, cancellationToken).ConfigureAwait(false);
        return outcome.Succeeded ? ApiResult.Created(new CreatedKeyResponse(outcome.Value!)) : ApiResult.Failure(outcome.Error!);
    }

    [Function(nameof(ListKeys))]
    [Access(Credentials.Session)]
    public async Task<ApiResult> ListKeys(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "keys")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var list = await keys.ListAsync(request.Caller(), cancellationToken).ConfigureAwait(false);
        return ApiResult.Ok(new { Keys = list, Total = list.Count });
    }

    [Function(nameof(RevokeKey))]
    [Access(Credentials.Session)]
    public async Task<ApiResult> RevokeKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "keys/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var outcome = await keys.RevokeAsync(request.Caller(), id, cancellationToken).ConfigureAwait(false);
        return outcome.Succeeded ? ApiResult.Ok(outcome.Value!) : ApiResult.Failure(outcome.Error!);
    }

    /// <summary>The create response: the key's fields plus <c>key</c>, which is never shown again.</summary>
    private sealed record CreatedKeyResponse(string Id, string Name, string Prefix, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt,
        DateTimeOffset? ExpiresAt, string Status, string Key)
    {
        public CreatedKeyResponse(CreatedKey created)
            : this(created.View.Id, created.View.Name, created.View.Prefix, created.View.Scopes, created.View.CreatedAt,
                created.View.ExpiresAt, created.View.Status, created.Key)
        {
        }
    }
}
