using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Core.Webhooks;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Webhooks;

/// <summary><c>/webhooks</c>: subscriptions, their secrets, tests, deliveries, replays and samples (spec §7).</summary>
public sealed class WebhookFunctions(WebhookService hooks, WebhookDeliveries deliveries, OutboxRelay relay, TimeProvider clock)
{
    [Function(nameof(CreateWebhook))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> CreateWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhooks")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<WebhookRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var workspaceId = request.Caller().WorkspaceId;
        var outcome = await hooks.CreateAsync(workspaceId, body.Value!.ToDraft(), cancellationToken).ConfigureAwait(false);
        if (!outcome.Succeeded)
        {
            return ApiResult.Failure(outcome.Error!);
        }

        relay.WebhookAdded(workspaceId);
        return ApiResult.Created(outcome.Value!);
    }

    [Function(nameof(ListWebhooks))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> ListWebhooks(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "webhooks")] HttpRequest request,
        CancellationToken cancellationToken) =>
        ApiResult.Ok(new { webhooks = await hooks.ListAsync(request.Caller().WorkspaceId, cancellationToken).ConfigureAwait(false) });

    [Function(nameof(GetWebhook))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> GetWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "webhooks/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        Result(await hooks.GetAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false));

    [Function(nameof(UpdateWebhook))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> UpdateWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "webhooks/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<WebhookPatchRequest>(request, cancellationToken).ConfigureAwait(false);
        return body.IsValid
            ? Result(await hooks.UpdateAsync(request.Caller().WorkspaceId, id, body.Value!.ToPatch(), cancellationToken).ConfigureAwait(false))
            : ApiResult.Failure(body.Error!);
    }

    [Function(nameof(DeleteWebhook))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> DeleteWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "webhooks/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        await hooks.DeleteAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false)
            ? ApiResult.Ok(new { id, deleted = true })
            : ApiResult.Failure(ApiError.NotFound("No such webhook in this workspace."));

    [Function(nameof(RotateWebhookSecret))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> RotateWebhookSecret(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhooks/{id}/rotate-secret")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        Result(await hooks.RotateSecretAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false));

    [Function(nameof(TestWebhook))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> TestWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhooks/{id}/test")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? eventName = null;
        if (request.ContentLength is > 0 || request.ContentType is not null)
        {
            var body = await RequestBody.ReadAsync<WebhookTestRequest>(request, cancellationToken).ConfigureAwait(false);
            if (!body.IsValid)
            {
                return ApiResult.Failure(body.Error!);
            }

            eventName = body.Value!.Event;
        }

        return Result(await deliveries.TestAsync(request.Caller().WorkspaceId, id, eventName, cancellationToken).ConfigureAwait(false));
    }

    [Function(nameof(ListWebhookDeliveries))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> ListWebhookDeliveries(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "webhooks/{id}/deliveries")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var perPage = QueryParameters.Number(request, "per_page", 20, 1, 100);
        var cursor = QueryParameters.Text(request, "cursor", 80);
        if (new[] { perPage.Error, cursor.Error }.FirstOrDefault(e => e is not null) is { } bad)
        {
            return ApiResult.Failure(bad);
        }

        if (cursor.Value is { } c && !WebhookDeliveries.IsCursor(c))
        {
            return ApiResult.Failure(ApiError.Validation("cursor", "Not a cursor from this list: pass next_cursor as it was given."));
        }

        return Result(await deliveries.AttemptsAsync(request.Caller().WorkspaceId, id, perPage.Value, cursor.Value, cancellationToken).ConfigureAwait(false));
    }

    [Function(nameof(ReplayWebhookDelivery))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> ReplayWebhookDelivery(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhooks/{id}/deliveries/{deliveryId}/replay")] HttpRequest request,
        string id,
        string deliveryId,
        CancellationToken cancellationToken) =>
        Result(await deliveries.ReplayAsync(request.Caller().WorkspaceId, id, deliveryId, cancellationToken).ConfigureAwait(false));

    [Function(nameof(RecoverWebhook))]
    [Access(Credentials.SessionOrKey, Scopes.WebhooksManage)]
    public async Task<ApiResult> RecoverWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhooks/{id}/recover")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<WebhookRecoverRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var outcome = await deliveries.RecoverAsync(request.Caller().WorkspaceId, id, body.Value!.Since!.Value, cancellationToken).ConfigureAwait(false);
        return outcome.Succeeded ? ApiResult.Accepted(outcome.Value!) : ApiResult.Failure(outcome.Error!);
    }

    [Function(nameof(WebhookSamples))]
    [Access(Credentials.SessionOrKey)]
    public ApiResult WebhookSamples(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "webhooks/samples/{eventName}")] HttpRequest request,
        string eventName)
    {
        if (!WebhookEvents.IsName(eventName))
        {
            return ApiResult.Failure(ApiError.NotFound("No such event. Events: " + string.Join(", ", WebhookEvents.Names) + "."));
        }

        var samples = WebhookEvents.Samples(eventName, clock.GetUtcNow())
            .Select(b => System.Text.Json.JsonDocument.Parse(b).RootElement.Clone())
            .ToList();
        return ApiResult.Ok(samples);
    }

    private static ApiResult Result<T>(Outcome<T> outcome) => outcome.Succeeded ? ApiResult.Ok(outcome.Value!) : ApiResult.Failure(outcome.Error!);
}
