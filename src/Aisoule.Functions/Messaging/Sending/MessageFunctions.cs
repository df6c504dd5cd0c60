using Aisoule.Core.Identity;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Results;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Messaging.Sending;

/// <summary><c>/messages</c>: send (202, through the queue), read one, list (spec §5).</summary>
public sealed class MessageFunctions(MessageService messages, MessageLister lister)
{
    [Function(nameof(SendMessage))]
    [Access(Credentials.SessionOrKey, Scopes.MessagesSend)]
    public async Task<ApiResult> SendMessage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "messages/send")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IdempotencyKeyHeader.TryRead(request, out var idempotencyKey, out var badKey))
        {
            return ApiResult.Failure(badKey!);
        }

        var (body, raw) = await RequestBody.ReadWithRawAsync<SendMessageRequest>(request, cancellationToken).ConfigureAwait(false);
        var draft = body.IsValid ? body.Value!.ToDraft() : body.Error!;
        if (!draft.Succeeded)
        {
            return ApiResult.Failure(draft.Error!);
        }

        var outcome = await messages.SendAsync(request.Caller().WorkspaceId, draft.Value!, idempotencyKey, raw, cancellationToken).ConfigureAwait(false);
        if (!outcome.Succeeded)
        {
            return ApiResult.Failure(outcome.Error!);
        }

        if (outcome.Value.Replayed)
        {
            request.HttpContext.Response.Headers["Idempotent-Replayed"] = "true";
        }

        return ApiResult.Accepted(outcome.Value.Accepted);
    }

    [Function(nameof(GetMessage))]
    [Access(Credentials.SessionOrKey, Scopes.MessagesRead)]
    public async Task<ApiResult> GetMessage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var outcome = await lister.GetAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false);
        return outcome.Succeeded ? ApiResult.Ok(outcome.Value!) : ApiResult.Failure(outcome.Error!);
    }

    [Function(nameof(ListMessages))]
    [Access(Credentials.SessionOrKey, Scopes.MessagesRead)]
    public async Task<ApiResult> ListMessages(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var page = QueryParameters.Number(request, "page", 1, 1, 100_000);
        var perPage = QueryParameters.Number(request, "per_page", 20, 1, 100);
        var contactId = QueryParameters.Text(request, "contact_id", 60);
        var status = QueryParameters.Text(request, "status", 20);
        if (new[] { page.Error, perPage.Error, contactId.Error, status.Error }.FirstOrDefault(e => e is not null) is { } bad)
        {
            return ApiResult.Failure(bad);
        }

        if (status.Value is { } s && !MessageStatus.All.Contains(s, StringComparer.Ordinal))
        {
            return ApiResult.Failure(ApiError.Validation("status", $"One of: {string.Join(", ", MessageStatus.All)}."));
        }

        var list = await lister.ListAsync(request.Caller().WorkspaceId, contactId.Value, status.Value, page.Value, perPage.Value, cancellationToken).ConfigureAwait(false);
        return ApiResult.Ok(list);
    }
}
