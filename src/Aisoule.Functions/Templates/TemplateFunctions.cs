using Aisoule.Core.Identity;
using Aisoule.Core.Templates;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Templates;

/// <summary><c>/templates</c>: the templates Meta (or the sandbox) approved, and a sync on demand (spec §5).</summary>
public sealed class TemplateFunctions(TemplateService templates)
{
    [Function(nameof(ListTemplates))]
    [Access(Credentials.SessionOrKey, Scopes.TemplatesRead, AwaitAdmission = true)] // pulls an account's templates from Meta on first sight
    public async Task<ApiResult> ListTemplates(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "templates")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var account = QueryParameters.Text(request, "whatsapp_account_id", 60);
        var status = QueryParameters.Text(request, "status", 20);
        if ((account.Error ?? status.Error) is { } bad)
        {
            return ApiResult.Failure(bad);
        }

        var list = await templates.ListAsync(request.Caller().WorkspaceId, account.Value, status.Value, cancellationToken).ConfigureAwait(false);
        return ApiResult.Ok(new { Templates = list.Select(TemplateView.From).ToList() });
    }

    [Function(nameof(SyncTemplates))]
    [Access(Credentials.SessionOrKey, Scopes.TemplatesRead)]
    public async Task<ApiResult> SyncTemplates(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "templates/sync")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var account = QueryParameters.Text(request, "whatsapp_account_id", 60);
        if (account.Error is { } bad)
        {
            return ApiResult.Failure(bad);
        }

        var outcome = await templates.SyncAsync(request.Caller().WorkspaceId, account.Value, cancellationToken).ConfigureAwait(false);
        return outcome.Succeeded ? ApiResult.Ok(new { Synced = outcome.Value }) : ApiResult.Failure(outcome.Error!);
    }
}
