using Aisoule.Core.Campaigns;
using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Functions.Http;
using Aisoule.Functions.Messaging.Sending;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Campaigns;

/// <summary><c>/campaigns</c>: create (or dry-run), list, read, reschedule, pause, resume, cancel, retry, recipients (spec §6).</summary>
public sealed class CampaignFunctions(CampaignService campaigns)
{
    [Function(nameof(CreateCampaign))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsWrite)]
    public async Task<ApiResult> CreateCampaign(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "campaigns")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IdempotencyKeyHeader.TryRead(request, out var idempotencyKey, out var badKey))
        {
            return ApiResult.Failure(badKey!);
        }

        var (body, raw) = await RequestBody.ReadWithRawAsync<CampaignRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var outcome = await campaigns.CreateAsync(request.Caller().WorkspaceId, body.Value!.ToDraft(), idempotencyKey, raw, cancellationToken).ConfigureAwait(false);
        if (!outcome.Succeeded)
        {
            return ApiResult.Failure(outcome.Error!);
        }

        var (created, isNew, replayed) = outcome.Value;
        if (replayed)
        {
            request.HttpContext.Response.Headers["Idempotent-Replayed"] = "true";
        }

        return isNew ? ApiResult.Created(created) : ApiResult.Ok(created);
    }

    [Function(nameof(ListCampaigns))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsRead)]
    public async Task<ApiResult> ListCampaigns(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "campaigns")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var page = QueryParameters.Number(request, "page", 1, 1, 100_000);
        var perPage = QueryParameters.Number(request, "per_page", 20, 1, 100);
        if (new[] { page.Error, perPage.Error }.FirstOrDefault(e => e is not null) is { } bad)
        {
            return ApiResult.Failure(bad);
        }

        return ApiResult.Ok(await campaigns.ListAsync(request.Caller().WorkspaceId, page.Value, perPage.Value, cancellationToken).ConfigureAwait(false));
    }

    [Function(nameof(GetCampaign))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsRead)]
    public async Task<ApiResult> GetCampaign(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "campaigns/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        Result(await campaigns.GetAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false));

    [Function(nameof(RescheduleCampaign))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsWrite)]
    public async Task<ApiResult> RescheduleCampaign(
        [HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "campaigns/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<CampaignPatch>(request, cancellationToken).ConfigureAwait(false);
        return body.IsValid
            ? Result(await campaigns.RescheduleAsync(request.Caller().WorkspaceId, id, body.Value!.ScheduledAt!.Value, cancellationToken).ConfigureAwait(false))
            : ApiResult.Failure(body.Error!);
    }

    [Function(nameof(PauseCampaign))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsWrite)]
    public async Task<ApiResult> PauseCampaign(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "campaigns/{id}/pause")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        Result(await campaigns.PauseAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false));

    [Function(nameof(ResumeCampaign))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsWrite)]
    public async Task<ApiResult> ResumeCampaign(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "campaigns/{id}/resume")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        Result(await campaigns.ResumeAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false));

    [Function(nameof(CancelCampaign))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsWrite)]
    public async Task<ApiResult> CancelCampaign(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "campaigns/{id}/cancel")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        Result(await campaigns.CancelAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false));

    [Function(nameof(RetryCampaign))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsWrite)]
    public async Task<ApiResult> RetryCampaign(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "campaigns/{id}/retry")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<RetryRequest>(request, cancellationToken).ConfigureAwait(false);
        return body.IsValid
            ? Result(await campaigns.RetryAsync(request.Caller().WorkspaceId, id, body.Value!.Categories!, cancellationToken).ConfigureAwait(false))
            : ApiResult.Failure(body.Error!);
    }

    [Function(nameof(ListCampaignRecipients))]
    [Access(Credentials.SessionOrKey, Scopes.CampaignsRead)]
    public async Task<ApiResult> ListCampaignRecipients(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "campaigns/{id}/recipients")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var limit = QueryParameters.Number(request, "per_page", 50, 1, 100);
        var status = QueryParameters.Text(request, "status", 20);
        var category = QueryParameters.Text(request, "category", 30);
        var cursor = QueryParameters.Text(request, "cursor", 40);
        if (new[] { limit.Error, status.Error, category.Error, cursor.Error }.FirstOrDefault(e => e is not null) is { } bad)
        {
            return ApiResult.Failure(bad);
        }

        if (status.Value is { } s && !RecipientStatus.All.Contains(s, StringComparer.Ordinal))
        {
            return ApiResult.Failure(ApiError.Validation("status", $"One of: {string.Join(", ", RecipientStatus.All)}."));
        }

        if (category.Value is { } c && !CampaignFailures.All.Contains(c, StringComparer.Ordinal))
        {
            return ApiResult.Failure(ApiError.Validation("category", $"One of: {string.Join(", ", CampaignFailures.All)}."));
        }

        if (cursor.Value is { } k && !CampaignKeys.IsContactId(k))
        {
            return ApiResult.Failure(ApiError.Validation("cursor", "Not a cursor from this list: pass next_cursor as it was given."));
        }

        return Result(await campaigns.RecipientsAsync(request.Caller().WorkspaceId, id, status.Value, category.Value, limit.Value, cursor.Value, cancellationToken).ConfigureAwait(false));
    }

    private static ApiResult Result<T>(Outcome<T> outcome) => outcome.Succeeded ? ApiResult.Ok(outcome.Value!) : ApiResult.Failure(outcome.Error!);
}
