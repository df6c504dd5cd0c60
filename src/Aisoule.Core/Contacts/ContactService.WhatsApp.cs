using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure.Data.Tables;

namespace Aisoule.Core.Contacts;

/// <summary>The identity Meta's webhooks report: who wrote (phone, BSUID or both) and who changed number or id.</summary>
public sealed partial class ContactService
{
    /// <summary>
    /// The contact of a WhatsApp user, found by BSUID first, then by phone, and created when the workspace has
    /// neither. When both are known they are linked: a phone contact gains its BSUID (and a BSUID contact without a
    /// phone gains it), so one person is never two contacts. The parent id and username are updated when Meta sends
    /// different ones; the profile name only fills a contact without a name. Values from Meta are cut to the limits,
    /// never refused. If the BSUID belongs to a phone-less contact and the phone to another without a BSUID (a reply
    /// with the phone withheld came first), the phone contact absorbs the other, which is deleted, and takes the BSUID.
    /// </summary>
    public async Task<Outcome<ContactEntity>> UpsertWhatsAppUserAsync(string workspaceId, WhatsAppUser user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(workspaceId);
        ArgumentNullException.ThrowIfNull(user);
        if (user.Phone is null && user.UserId is null)
        {
            throw new ArgumentException("A WhatsApp user needs a phone or a user id.", nameof(user));
        }

        if (user.UserId is not null && !WhatsAppUserId.IsValid(user.UserId))
        {
            throw new ArgumentException("Not a WhatsApp user id.", nameof(user));
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<Outcome<ContactEntity>>(async attempt =>
        {
            var byUser = user.UserId is null ? Found.None : await FindByPointerAsync(table, workspaceId, ContactKeys.User(user.UserId), cancellationToken).ConfigureAwait(false);
            var byPhone = user.Phone is null ? Found.None : await FindByPointerAsync(table, workspaceId, ContactKeys.Phone(user.Phone), cancellationToken).ConfigureAwait(false);
            if (byUser.Vanished || byPhone.Vanished)
            {
                // A pointer whose contact is gone: a delete is half-seen between two reads; look again.
                return attempt.Again();
            }

            var now = clock.GetUtcNow();
            if (byUser.Contact is { } twin && byPhone.Contact is { } kept && twin.Id != kept.Id && twin.PhoneNumber is null && kept.WaUserId is null)
            {
                // One person, two contacts: a reply with the phone withheld made a contact by BSUID, and this message
                // says it is the person already known by phone. The phone contact absorbs the other (opt-out, window,
                // what it lacks), then the other is deleted, freeing its BSUID, and the next attempt links the BSUID to
                // the phone contact. Each step is guarded by the contacts' ETags, and a message redelivered after a
                // crash between them finds the same state and finishes it.
                var absorbed = Absorb(kept, twin);
                if (absorbed is not null)
                {
                    absorbed.UpdatedAt = now;
                    await CommitAsync(table, ContactChange.Update(kept, absorbed, now), cancellationToken).ConfigureAwait(false);
                }

                // Deleted with a forward row to the phone contact, in the same transaction: a write still addressed to
                // the deleted id (Meta's opt-out for a message sent to it, a reply in flight) lands on the phone contact.
                var delete = ContactChange.Delete(twin);
                delete.Actions.Add(new(TableTransactionActionType.UpsertReplace, new TableEntity(workspaceId, ContactKeys.Forward(twin.Id)) { ["ContactId"] = kept.Id }));
                await CommitAsync(table, delete, cancellationToken).ConfigureAwait(false);
                return attempt.Again();
            }

            var before = byUser.Contact ?? byPhone.Contact;
            if (before is null)
            {
                var contact = new ContactEntity
                {
                    PartitionKey = workspaceId,
                    Id = ContactKeys.NewId(now),
                    PhoneNumber = user.Phone,
                    WaUserId = user.UserId,
                    WaParentUserId = user.ParentUserId,
                    Username = ContactLimits.CutUsername(user.Username),
                    Name = ContactLimits.CutName(user.Name),
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                contact.RowKey = ContactKeys.Contact(contact.Id);

                // A racing writer that took the phone or the id fails this whole write (409): the next attempt finds it.
                await CommitAsync(table, ContactChange.Create(contact, now), cancellationToken).ConfigureAwait(false);
                return contact;
            }

            var after = before.Clone();
            if (user.UserId is not null && byUser.Contact is null)
            {
                after.WaUserId = user.UserId;
            }

            if (user.Phone is not null && string.IsNullOrEmpty(after.PhoneNumber) && byPhone.Contact is null)
            {
                after.PhoneNumber = user.Phone;
            }

            Observe(after, user);
            if (!Differs(before, after))
            {
                return before;
            }

            after.UpdatedAt = now;
            await CommitAsync(table, ContactChange.Update(before, after, now), cancellationToken).ConfigureAwait(false);
            return after;
        }, gaveUp: () => Busy(), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Meta's system message that a user's BSUID changed (<c>user_changed_number</c>, <c>user_changed_user_id</c>): the
    /// contact with <paramref name="previousUserId"/> takes <paramref name="next"/>'s user id (and its phone, when Meta
    /// gives one no other contact holds). Applied twice it changes nothing more. Not found when no contact has either
    /// id; 409 <c>contact_exists</c> when another contact already has the new id (the two are not merged).
    /// </summary>
    public async Task<Outcome<ContactEntity>> MoveWhatsAppUserAsync(string workspaceId, string previousUserId, WhatsAppUser next, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(workspaceId);
        ArgumentException.ThrowIfNullOrEmpty(previousUserId);
        ArgumentNullException.ThrowIfNull(next);
        if (!WhatsAppUserId.IsValid(previousUserId) || !WhatsAppUserId.IsValid(next.UserId))
        {
            throw new ArgumentException("Not a WhatsApp user id.", nameof(next));
        }

        return await MovePointerAsync(workspaceId, ContactKeys.User(previousUserId), ContactKeys.User(next.UserId), UserExists, async (table, before) =>
        {
            var after = before.Clone();
            after.WaUserId = next.UserId;
            if (next.Phone is not null && next.Phone != after.PhoneNumber
                && await OwnerAsync(table, workspaceId, ContactKeys.Phone(next.Phone), cancellationToken).ConfigureAwait(false) is null)
            {
                after.PhoneNumber = next.Phone;
            }

            Observe(after, next);
            return after;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Meta's older <c>user_changed_number</c>, which names no BSUIDs: the contact with <paramref name="previousPhone"/>
    /// takes <paramref name="newPhone"/>. Idempotent like <see cref="MoveWhatsAppUserAsync"/>; not found when no contact
    /// has either phone; 409 <c>contact_exists</c> when another contact already has the new one.
    /// </summary>
    public async Task<Outcome<ContactEntity>> MoveWhatsAppPhoneAsync(string workspaceId, string previousPhone, string newPhone, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(workspaceId);
        ArgumentException.ThrowIfNullOrEmpty(previousPhone);
        ArgumentException.ThrowIfNullOrEmpty(newPhone);

        return await MovePointerAsync(workspaceId, ContactKeys.Phone(previousPhone), ContactKeys.Phone(newPhone), Exists, (_, before) =>
        {
            var after = before.Clone();
            after.PhoneNumber = newPhone;
            return Task.FromResult(after);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the contact that <paramref name="previousKey"/> points at to <paramref name="nextKey"/>: <paramref name="move"/>
    /// makes the changed contact from the one found, committed under its ETag. Idempotent (already moved: the contact as
    /// it is); not found when neither pointer has a contact; <paramref name="taken"/> when another contact holds the next one.
    /// </summary>
    private async Task<Outcome<ContactEntity>> MovePointerAsync(
        string workspaceId, string previousKey, string nextKey, Func<string, ApiError> taken,
        Func<TableClient, ContactEntity, Task<ContactEntity>> move, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<Outcome<ContactEntity>>(async attempt =>
        {
            var previous = await FindByPointerAsync(table, workspaceId, previousKey, cancellationToken).ConfigureAwait(false);
            var current = await FindByPointerAsync(table, workspaceId, nextKey, cancellationToken).ConfigureAwait(false);
            if (previous.Vanished || current.Vanished)
            {
                return attempt.Again();
            }

            if (previous.Contact is null)
            {
                // Moved already (a redelivery), or someone this workspace never had.
                return current.Contact is { } moved ? moved : NotFound();
            }

            if (current.Contact is { } other && other.Id != previous.Contact.Id)
            {
                return taken(other.Id);
            }

            var before = previous.Contact;
            var after = await move(table, before).ConfigureAwait(false);
            var now = clock.GetUtcNow();
            after.UpdatedAt = now;
            await CommitAsync(table, ContactChange.Update(before, after, now), cancellationToken).ConfigureAwait(false);
            return after;
        }, gaveUp: () => Busy(), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    // What Meta shows of the user beyond the identifiers: a new parent id or username replaces the old; a missing one
    // (Meta leaves fields out) changes nothing; a profile name fills only an empty name, never one the business set.
    private static void Observe(ContactEntity contact, WhatsAppUser user)
    {
        if (user.ParentUserId is { } parent)
        {
            contact.WaParentUserId = parent;
        }

        if (ContactLimits.CutUsername(user.Username) is { } username)
        {
            contact.Username = username;
        }

        if (contact.Name is null && ContactLimits.CutName(user.Name) is { Length: > 0 } name)
        {
            contact.Name = name;
        }
    }

    /// <summary>
    /// <paramref name="kept"/> with what <paramref name="twin"/> (the same person's phone-less contact) adds: an opt-out
    /// on either holds, the later inbound time (the 24-hour window), and the name, email, stage, username, parent id and
    /// tags it lacks (tags up to the limit). Custom fields stay the kept contact's. Null when nothing changes.
    /// </summary>
    private static ContactEntity? Absorb(ContactEntity kept, ContactEntity twin)
    {
        var after = kept.Clone();
        after.OptedIn = kept.OptedIn && twin.OptedIn;
        after.LastInboundAt = (kept.LastInboundAt, twin.LastInboundAt) switch
        {
            (null, var t) => t,
            (var k, null) => k,
            (var k, var t) => k > t ? k : t,
        };
        after.Name ??= twin.Name;
        after.Email ??= twin.Email;
        after.Stage ??= twin.Stage;
        after.Username ??= twin.Username;
        after.WaParentUserId ??= twin.WaParentUserId;
        after.Tags = [.. kept.Tags.Concat(twin.Tags).DistinctBy(t => t.ToLowerInvariant()).Take(Math.Max(kept.Tags.Count, ContactLimits.MaxTags))];
        var changed = Differs(kept, after) || after.OptedIn != kept.OptedIn || after.LastInboundAt != kept.LastInboundAt
            || after.Email != kept.Email || after.Stage != kept.Stage || after.TagsJson != kept.TagsJson;
        return changed ? after : null;
    }

    private static bool Differs(ContactEntity a, ContactEntity b) =>
        a.PhoneNumber != b.PhoneNumber || a.WaUserId != b.WaUserId || a.WaParentUserId != b.WaParentUserId || a.Username != b.Username || a.Name != b.Name;

    private static async Task<Found> FindByPointerAsync(TableClient table, string workspaceId, string pointerKey, CancellationToken cancellationToken)
    {
        if (await OwnerAsync(table, workspaceId, pointerKey, cancellationToken).ConfigureAwait(false) is not { } id)
        {
            return Found.None;
        }

        return await FindAsync(table, workspaceId, id, cancellationToken).ConfigureAwait(false) is { } contact ? new Found(contact, false) : new Found(null, true);
    }

    /// <summary>A pointer read: the contact it names, none, or one that vanished (the pointer outlived a read of it).</summary>
    private readonly record struct Found(ContactEntity? Contact, bool Vanished)
    {
        public static Found None => default;
    }
}
