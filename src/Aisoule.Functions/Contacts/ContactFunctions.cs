using Aisoule.Core.Contacts;
using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Contacts;

/// <summary><c>/contacts</c>: list, create, read, update, delete and bulk upsert (spec §4).</summary>
public sealed class ContactFunctions(ContactService contacts, ContactLister lister)
{
    [Function(nameof(ListContacts))]
    [Access(Credentials.SessionOrKey, Scopes.ContactsRead)]
    public async Task<ApiResult> ListContacts(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "contacts")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var page = QueryParameters.Number(request, "page", 1, 1, 100_000);
        var perPage = QueryParameters.Number(request, "per_page", 20, 1, 100);
        var tag = QueryParameters.Text(request, "tag", ContactRequest.MaxTagLength);
        var stage = QueryParameters.Text(request, "stage", 50);
        var search = QueryParameters.Text(request, "search", 200);
        var cursor = QueryParameters.Text(request, "cursor", 200);
        if (new[] { page.Error, perPage.Error, tag.Error, stage.Error, search.Error, cursor.Error }.FirstOrDefault(e => e is not null) is { } bad)
        {
            return ApiResult.Failure(bad);
        }

        var filter = new ContactFilter(tag.Value, stage.Value, search.Value);
        var outcome = await lister.ListAsync(request.Caller().WorkspaceId, filter, page.Value, perPage.Value, cursor.Value, cancellationToken).ConfigureAwait(false);
        return Result(outcome, ApiResult.Ok);
    }

    [Function(nameof(CreateContact))]
    [Access(Credentials.SessionOrKey, Scopes.ContactsWrite)]
    public async Task<ApiResult> CreateContact(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "contacts")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var draft = await ReadDraftAsync(request, creating: true, cancellationToken).ConfigureAwait(false);
        return draft.Succeeded
            ? Result(await contacts.CreateAsync(request.Caller().WorkspaceId, draft.Value!, cancellationToken).ConfigureAwait(false), ApiResult.Created)
            : ApiResult.Failure(draft.Error!);
    }

    [Function(nameof(GetContact))]
    [Access(Credentials.SessionOrKey, Scopes.ContactsRead)]
    public async Task<ApiResult> GetContact(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "contacts/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        Result(await contacts.GetAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false), ApiResult.Ok);

    [Function(nameof(UpdateContact))]
    [Access(Credentials.SessionOrKey, Scopes.ContactsWrite)]
    public async Task<ApiResult> UpdateContact(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "contacts/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var draft = await ReadDraftAsync(request, creating: false, cancellationToken).ConfigureAwait(false);
        return draft.Succeeded
            ? Result(await contacts.UpdateAsync(request.Caller().WorkspaceId, id, draft.Value!, cancellationToken).ConfigureAwait(false), ApiResult.Ok)
            : ApiResult.Failure(draft.Error!);
    }

    [Function(nameof(DeleteContact))]
    [Access(Credentials.SessionOrKey, Scopes.ContactsWrite)]
    public async Task<ApiResult> DeleteContact(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "contacts/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var outcome = await contacts.DeleteAsync(request.Caller().WorkspaceId, id, cancellationToken).ConfigureAwait(false);
        return outcome.Succeeded ? ApiResult.Ok(new { Id = outcome.Value, Deleted = true }) : ApiResult.Failure(outcome.Error!);
    }

    [Function(nameof(BulkUpsertContacts))]
    [Access(Credentials.SessionOrKey, Scopes.ContactsWrite)]
    public async Task<ApiResult> BulkUpsertContacts(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "contacts/bulk")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<BulkContactsRequest>(request, cancellationToken).ConfigureAwait(false);
        if (!body.IsValid)
        {
            return ApiResult.Failure(body.Error!);
        }

        var valid = new List<(int, ContactDraft)>();
        var invalid = new List<BulkFailure>();
        foreach (var (element, index) in body.Value!.Contacts!.Select((e, i) => (e, i)))
        {
            var item = RequestBody.Parse<ContactRequest>(element);
            var draft = item.IsValid ? ContactDrafts.From(item.Value!, item.Present, creating: true) : item.Error!;
            if (draft.Succeeded)
            {
                valid.Add((index, draft.Value!));
            }
            else
            {
                invalid.Add(new BulkFailure(index, draft.Error!.Code, Describe(draft.Error)));
            }
        }

        var result = await contacts.BulkUpsertAsync(request.Caller().WorkspaceId, valid, invalid, cancellationToken).ConfigureAwait(false);
        return ApiResult.Ok(result);
    }

    private static async Task<Outcome<ContactDraft>> ReadDraftAsync(HttpRequest request, bool creating, CancellationToken cancellationToken)
    {
        var body = await RequestBody.ReadAsync<ContactRequest>(request, cancellationToken).ConfigureAwait(false);
        return body.IsValid ? ContactDrafts.From(body.Value!, body.Present, creating) : body.Error!;
    }

    private static string Describe(ApiError error) =>
        error.Errors is { Count: > 0 } errors && !error.Is(ErrorCodes.InvalidPhoneNumber)
            ? string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))
            : error.Message;

    private static ApiResult Result<T>(Outcome<T> outcome, Func<object, ApiResult> success) =>
        outcome.Succeeded ? success(outcome.Value!) : ApiResult.Failure(outcome.Error!);
}
