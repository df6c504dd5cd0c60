using System.Text.Json;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure.Data.Tables;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Contacts of one workspace: create, read, change, delete and bulk upsert, unique by phone and by WhatsApp user id
/// (BSUID); and the identity Meta's webhooks report (<see cref="UpsertWhatsAppUserAsync"/>, <see cref="MoveWhatsAppUserAsync"/>).
/// </summary>
public sealed partial class ContactService(StorageAccount storage, TimeProvider clock, Webhooks.OutboxRelay? outbox = null)
{
    internal const string Table = "contacts";

    // Rounds of "look up, then create or change" (each already retried on its own writes) before giving up.
    private const int MaxRereads = 5;

    // The workspace's counters (total, per tag, per stage): this process's shard choice and copies.
    private readonly CounterShards _counters = new(CounterShards.ContactsDefault);

    public static ApiError Exists(string id) =>
        new ApiError(ErrorCodes.ContactExists, "A contact with this phone number already exists.") with { ExistingId = id };

    public static ApiError UserExists(string id) =>
        new ApiError(ErrorCodes.ContactExists, "A contact with this wa_user_id already exists.") with { ExistingId = id };

    /// <summary>A contact left with neither a phone nor a WhatsApp user id: nothing could reach it or match it.</summary>
    public static ApiError NoIdentity() =>
        ApiError.Validation("phone_number", "A contact needs a phone_number or a wa_user_id.");

    public async Task<Outcome<ContactView>> GetAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        var contact = await FindAsync(await TableAsync(cancellationToken).ConfigureAwait(false), workspaceId, id, cancellationToken).ConfigureAwait(false);
        return contact is null ? NotFound() : ContactView.From(contact);
    }

    public Task<Outcome<ContactView>> CreateAsync(string workspaceId, ContactDraft draft, CancellationToken cancellationToken = default) =>
        CreateAsync(workspaceId, draft, lookFirst: false, cancellationToken);

    private async Task<Outcome<ContactView>> CreateAsync(string workspaceId, ContactDraft draft, bool lookFirst, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<Outcome<ContactView>>(async attempt =>
        {
            // A new phone or user id is the usual case, so the first attempt just writes: the pointer rows it adds fail
            // the transaction if another contact holds either (or a racing create took it), and the next attempt looks
            // them up and answers 409. A caller that expects the contact to exist (an upsert) looks first.
            if ((lookFirst || !attempt.IsFirst) && await TakenAsync(table, workspaceId, draft.PhoneNumber, draft.WaUserId, cancellationToken).ConfigureAwait(false) is { } taken)
            {
                return taken;
            }

            var now = clock.GetUtcNow();
            var contact = Apply(new ContactEntity { PartitionKey = workspaceId, Id = ContactKeys.NewId(now), CreatedAt = now }, draft, now);
            if (contact.PhoneNumber is null && contact.WaUserId is null)
            {
                return NoIdentity();
            }

            var change = ContactChange.Create(contact, now);
            if (change.TooLarge() is { } tooLarge)
            {
                return tooLarge;
            }

            try
            {
                await CommitAsync(table, change, cancellationToken).ConfigureAwait(false);
                return ContactView.From(contact);
            }
            catch (Exception ex) when (StorageFailures.IsValueRefused(ex))
            {
                return ContactChange.NotStorable();
            }
        }, gaveUp: () => Busy(), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task<Outcome<ContactView>> UpdateAsync(string workspaceId, string id, ContactDraft draft, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<Outcome<ContactView>>(async _ =>
        {
            var before = await FindAsync(table, workspaceId, id, cancellationToken).ConfigureAwait(false);
            if (before is null)
            {
                return NotFound();
            }

            var phone = draft.Has("phone_number") && draft.PhoneNumber != before.PhoneNumber ? draft.PhoneNumber : null;
            var user = draft.Has("wa_user_id") && draft.WaUserId != before.WaUserId ? draft.WaUserId : null;
            if (await TakenAsync(table, workspaceId, phone, user, cancellationToken).ConfigureAwait(false) is { } taken)
            {
                return taken;
            }

            var now = clock.GetUtcNow();
            var after = Apply(before.Clone(), draft, now);
            if (string.IsNullOrEmpty(after.PhoneNumber) && after.WaUserId is null)
            {
                return NoIdentity();
            }

            var change = ContactChange.Update(before, after, now);
            if (change.TooLarge() is { } tooLarge)
            {
                return tooLarge;
            }

            try
            {
                await CommitAsync(table, change, cancellationToken).ConfigureAwait(false);
                return ContactView.From(after);
            }
            catch (Exception ex) when (StorageFailures.IsValueRefused(ex))
            {
                return ContactChange.NotStorable();
            }
        }, gaveUp: () => Busy(), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task<Outcome<string>> DeleteAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<Outcome<string>>(async _ =>
        {
            var contact = await FindAsync(table, workspaceId, id, cancellationToken).ConfigureAwait(false);
            if (contact is null)
            {
                return NotFound();
            }

            await CommitAsync(table, ContactChange.Delete(contact), cancellationToken).ConfigureAwait(false);
            return contact.Id;
        }, gaveUp: () => Busy(), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates or updates (by phone) each valid item. New contacts go in as few transactions as Azure allows;
    /// a transaction that meets a concurrent writer is redone item by item, so one conflict fails nothing else.
    /// </summary>
    public async Task<BulkResult> BulkUpsertAsync(string workspaceId, IReadOnlyList<(int Index, ContactDraft Draft)> items, IReadOnlyList<BulkFailure> invalid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var (created, updated) = (0, 0);
        var failed = new List<BulkFailure>(invalid);

        // An item whose phone and user id no earlier item named may go in a batch; the others (an item sharing either
        // with an earlier one: the same person, or a clash to refuse) are applied after it, in order, as is any item
        // whose phone or user id a contact already holds. One transaction never writes one pointer row twice.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var firsts = new List<(int Index, ContactDraft Draft)>();
        foreach (var item in items)
        {
            string[] identities = [.. new[] { item.Draft.PhoneNumber is { } phone ? "p:" + phone : null, item.Draft.WaUserId is { } user ? "u:" + user : null }.OfType<string>()];
            var named = identities.Count(seen.Add);
            if (named == identities.Length)
            {
                firsts.Add(item);
            }
        }

        var repeats = items.Except(firsts).ToList();
        var owners = await Task.WhenAll(firsts.Select(i => TakenAsync(table, workspaceId, i.Draft.PhoneNumber, i.Draft.WaUserId, cancellationToken))).ConfigureAwait(false);

        var now = clock.GetUtcNow();
        var fresh = firsts.Where((_, n) => owners[n] is null)
            .Select(i => (i.Index, i.Draft, Change: ContactChange.Create(Apply(new ContactEntity { PartitionKey = workspaceId, Id = ContactKeys.NewId(now), CreatedAt = now }, i.Draft, now), now)))
            .ToList();

        // An item that would not fit storage fails alone, before anything is written (the edge's limits should
        // have caught it; this is the stored-size check every write gets).
        foreach (var item in fresh.Where(f => f.Change.TooLarge() is not null).ToList())
        {
            var error = item.Change.TooLarge()!;
            failed.Add(new BulkFailure(item.Index, error.Code, Describe(error)));
            fresh.Remove(item);
        }

        var sequential = firsts.Where((_, n) => owners[n] is not null).Concat(repeats).OrderBy(i => i.Index).ToList();

        foreach (var chunk in Chunk(fresh))
        {
            var combined = new ContactChange(workspaceId);
            foreach (var item in chunk)
            {
                combined.Absorb(item.Change);
            }

            try
            {
                await CommitAsync(table, combined, cancellationToken).ConfigureAwait(false);
                created += chunk.Count;
            }
            catch (Exception ex) when (OptimisticRetry.IsConflict(ex) || StorageFailures.IsValueRefused(ex) || ex is TableTransactionFailedException { ErrorCode: "InvalidDuplicateRow" })
            {
                // Nothing of this transaction was written: each item goes again alone and fails only itself.
                sequential.AddRange(chunk.Select(c => (c.Index, c.Draft)));
            }
        }

        foreach (var (index, draft) in sequential.OrderBy(i => i.Index))
        {
            var outcome = await UpsertAsync(workspaceId, draft, cancellationToken).ConfigureAwait(false);
            if (!outcome.Succeeded)
            {
                failed.Add(new BulkFailure(index, outcome.Error!.Code, Describe(outcome.Error)));
            }
            else if (outcome.Value)
            {
                created++;
            }
            else
            {
                updated++;
            }
        }

        return new BulkResult(created, updated, [.. failed.OrderBy(f => f.Index)]);
    }

    /// <summary>The contact with this id in the workspace, if any: one point read.</summary>
    public async Task<ContactEntity?> FindByIdAsync(string workspaceId, string id, CancellationToken cancellationToken = default) =>
        await FindAsync(await TableAsync(cancellationToken).ConfigureAwait(false), workspaceId, id, cancellationToken).ConfigureAwait(false);

    /// <summary>The contact with this E.164 phone in the workspace, if any.</summary>
    public async Task<ContactEntity?> FindByPhoneAsync(string workspaceId, string e164, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OwnerOfPhoneAsync(table, workspaceId, e164, cancellationToken).ConfigureAwait(false) is { } id
            ? await FindAsync(table, workspaceId, id, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>The contact with this WhatsApp user id (BSUID) in the workspace, if any: one point read of its pointer, one of the contact.</summary>
    public async Task<ContactEntity?> FindByWhatsAppUserIdAsync(string workspaceId, string waUserId, CancellationToken cancellationToken = default)
    {
        if (!WhatsAppUserId.IsValid(waUserId))
        {
            return null;
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OwnerAsync(table, workspaceId, ContactKeys.User(waUserId), cancellationToken).ConfigureAwait(false) is { } id
            ? await FindAsync(table, workspaceId, id, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>The contact for a phone, created (with <paramref name="name"/>) when the workspace has none.</summary>
    public async Task<Outcome<ContactEntity>> EnsureAsync(string workspaceId, string e164, string? name, CancellationToken cancellationToken = default)
    {
        // A contact found by phone, then gone before it is read (a racing delete), or a create that finds the phone
        // taken by a contact it cannot then find: the picture moved between two reads, so look again.
        return await OptimisticRetry.RunAsync<Outcome<ContactEntity>>(async attempt =>
        {
            if (await FindByPhoneAsync(workspaceId, e164, cancellationToken).ConfigureAwait(false) is { } found)
            {
                return found;
            }

            // The name comes from outside the API (a WhatsApp profile): cut to the documented limit, not refused.
            var created = await CreateAsync(workspaceId, new ContactDraft { PhoneNumber = e164, Name = ContactLimits.CutName(name) }, cancellationToken).ConfigureAwait(false);
            if (created.Succeeded)
            {
                return (await FindByPhoneAsync(workspaceId, e164, cancellationToken).ConfigureAwait(false))!;
            }

            return created.Error!.ExistingId is null ? created.Error : attempt.Again();
        }, gaveUp: () => KeptChanging(), RetryBound.Attempts(MaxRereads), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes one contact with <paramref name="mutate"/> (which returns false when there is nothing to change),
    /// retried on concurrent writes; records <c>contact.updated</c>. False when the contact does not exist.
    /// </summary>
    public Task<bool> ChangeAsync(string workspaceId, string id, Func<ContactEntity, bool> mutate, CancellationToken cancellationToken = default) =>
        ChangeAsync(workspaceId, id, mutate, forwarded: false, cancellationToken);

    private async Task<bool> ChangeAsync(string workspaceId, string id, Func<ContactEntity, bool> mutate, bool forwarded, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<bool>(async _ =>
        {
            var before = await FindAsync(table, workspaceId, id, cancellationToken).ConfigureAwait(false);
            if (before is null)
            {
                // A contact merged into another (one person's two contacts) forwards its writes there, once.
                return !forwarded && ContactKeys.IsId(id) && await OwnerAsync(table, workspaceId, ContactKeys.Forward(id), cancellationToken).ConfigureAwait(false) is { } target
                    && await ChangeAsync(workspaceId, target, mutate, forwarded: true, cancellationToken).ConfigureAwait(false);
            }

            var after = before.Clone();
            if (!mutate(after))
            {
                return true;
            }

            var now = clock.GetUtcNow();
            after.UpdatedAt = now;
            await CommitAsync(table, ContactChange.Update(before, after, now), cancellationToken).ConfigureAwait(false);
            return true;
        }, gaveUp: () => throw new InvalidOperationException($"Contact {id} kept changing while it was being changed."), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The contact's new state from a draft: present fields replace, absent fields stay.</summary>
    internal static ContactEntity Apply(ContactEntity contact, ContactDraft draft, DateTimeOffset now)
    {
        var creating = contact.RowKey.Length == 0;
        contact.RowKey = ContactKeys.Contact(contact.Id);
        if (creating || draft.Has("phone_number"))
        {
            contact.PhoneNumber = draft.PhoneNumber;
        }

        if (creating || draft.Has("wa_user_id"))
        {
            contact.WaUserId = draft.WaUserId;
        }

        if (creating || draft.Has("wa_parent_user_id"))
        {
            contact.WaParentUserId = draft.WaParentUserId;
        }

        if (creating || draft.Has("username"))
        {
            contact.Username = string.IsNullOrWhiteSpace(draft.Username) ? null : draft.Username.Trim();
        }

        if (creating || draft.Has("name"))
        {
            contact.Name = string.IsNullOrWhiteSpace(draft.Name) ? null : draft.Name.Trim();
        }

        if (creating || draft.Has("email"))
        {
            contact.Email = string.IsNullOrWhiteSpace(draft.Email) ? null : draft.Email.Trim();
        }

        if (creating || draft.Has("tags"))
        {
            contact.Tags = [.. (draft.Tags ?? []).Select(t => t.Trim()).Where(t => t.Length > 0).DistinctBy(t => t.ToLowerInvariant())];
        }

        if (creating || draft.Has("stage"))
        {
            contact.Stage = string.IsNullOrWhiteSpace(draft.Stage) ? null : draft.Stage.Trim();
        }

        if (creating || draft.Has("custom_fields"))
        {
            // Stored as measured at the edge (compact, escaped), so the limit holds for the row and its events alike.
            contact.CustomFieldsJson = draft.CustomFields is { ValueKind: JsonValueKind.Object } fields ? ContactLimits.StoredCustomFields(fields) : "{}";
        }

        if (creating || draft.Has("opted_in"))
        {
            contact.OptedIn = draft.OptedIn ?? true;
        }

        contact.UpdatedAt = now;
        return contact;
    }

    /// <summary>Created (true) or updated (false).</summary>
    private async Task<Outcome<bool>> UpsertAsync(string workspaceId, ContactDraft draft, CancellationToken cancellationToken)
    {
        // Found taken by a contact that is gone before it can be updated (a racing delete): create again. Bulk sends an
        // item here when its phone or user id was found taken or named twice, so the contact is expected: look first.
        return await OptimisticRetry.RunAsync<Outcome<bool>>(async attempt =>
        {
            var created = await CreateAsync(workspaceId, draft, lookFirst: true, cancellationToken).ConfigureAwait(false);
            if (created.Succeeded)
            {
                return true;
            }

            if (created.Error!.ExistingId is not { } existing)
            {
                return created.Error;
            }

            var updated = await UpdateAsync(workspaceId, existing, draft, cancellationToken).ConfigureAwait(false);
            if (updated.Succeeded)
            {
                return false;
            }

            return !updated.Error!.Is(ErrorCodes.NotFound) ? updated.Error : attempt.Again();
        }, gaveUp: () => KeptChanging(), RetryBound.Attempts(MaxRereads), cancellationToken).ConfigureAwait(false);
    }

    private static IEnumerable<List<(int Index, ContactDraft Draft, ContactChange Change)>> Chunk(List<(int Index, ContactDraft Draft, ContactChange Change)> items)
    {
        var chunk = new List<(int, ContactDraft, ContactChange)>();
        var combined = new ContactChange("");
        foreach (var item in items)
        {
            var trial = new ContactChange("");
            trial.Absorb(combined);
            trial.Absorb(item.Change);
            if (chunk.Count > 0 && trial.Size > TableBatch.MaxActions)
            {
                yield return chunk;
                (chunk, combined) = ([], new ContactChange(""));
                trial = new ContactChange("");
                trial.Absorb(item.Change);
            }

            chunk.Add(item);
            combined = trial;
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    private static Task<string?> OwnerOfPhoneAsync(TableClient table, string workspaceId, string phone, CancellationToken cancellationToken) =>
        OwnerAsync(table, workspaceId, ContactKeys.Phone(phone), cancellationToken);

    /// <summary>The 409 for a phone or user id another contact holds (each a point read of its pointer), or null when both are free.</summary>
    private static async Task<ApiError?> TakenAsync(TableClient table, string workspaceId, string? phone, string? waUserId, CancellationToken cancellationToken)
    {
        var byPhone = phone is null ? Task.FromResult<string?>(null) : OwnerOfPhoneAsync(table, workspaceId, phone, cancellationToken);
        var byUser = waUserId is null ? Task.FromResult<string?>(null) : OwnerAsync(table, workspaceId, ContactKeys.User(waUserId), cancellationToken);
        return await byPhone.ConfigureAwait(false) is { } phoneOwner ? Exists(phoneOwner)
            : await byUser.ConfigureAwait(false) is { } userOwner ? UserExists(userOwner)
            : null;
    }

    private static async Task<string?> OwnerAsync(TableClient table, string workspaceId, string pointerKey, CancellationToken cancellationToken)
    {
        var row = await table.GetEntityIfExistsAsync<TableEntity>(workspaceId, pointerKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value!.GetString("ContactId") : null;
    }

    private static async Task<ContactEntity?> FindAsync(TableClient table, string workspaceId, string id, CancellationToken cancellationToken)
    {
        if (!ContactKeys.IsId(id))
        {
            return null;
        }

        var found = await table.GetEntityIfExistsAsync<ContactEntity>(workspaceId, ContactKeys.Contact(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? found.Value : null;
    }

    private static ApiError NotFound() => ApiError.NotFound("No contact with this id.");

    /// <summary>A bulk item's failure as one line, field by field when the error names fields.</summary>
    private static string Describe(ApiError error) =>
        error.Errors is { Count: > 0 } errors ? error.Message + " " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")) : error.Message;

    /// <summary>A create-or-change that kept finding the contact changed under it: the caller may retry.</summary>
    private static ApiError KeptChanging() =>
        new(ErrorCodes.Conflict, "The contact kept changing while it was being saved; try again.");

    /// <summary>So many writers at once on one workspace that this one never got its turn: the caller may retry.</summary>
    /// <summary>
    /// Commits a <see cref="ContactChange"/> as one transaction with its counters' moves (<see cref="CounterShards"/>). A
    /// concurrent writer of the same row makes it fail whole (412/409), never half: a conflict for
    /// <see cref="OptimisticRetry"/>, whose next attempt takes a shard again.
    /// </summary>
    private async Task CommitAsync(TableClient table, ContactChange change, CancellationToken cancellationToken)
    {
        await _counters.SubmitAsync(table, change.WorkspaceId, change.Actions, change.Counters, cancellationToken).ConfigureAwait(false);
        if (outbox is not null && change.Actions.Any(a => a.Entity.RowKey.StartsWith(OutboxEvent.Prefix, StringComparison.Ordinal)))
        {
            await outbox.NotifyAsync(Table, change.WorkspaceId, change.WorkspaceId, cancellationToken).ConfigureAwait(false);
        }
    }

    private static ApiError Busy() =>
        new(ErrorCodes.Busy, "Too many changes to this workspace's contacts at once; try again.") { RetryAfter = TimeSpan.FromSeconds(1) };

    private Task<TableClient> TableAsync(CancellationToken cancellationToken) => storage.GetTableAsync(Table, cancellationToken);
}
