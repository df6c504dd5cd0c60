using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure.Data.Tables;

namespace Aisoule.Core.Contacts;

/// <summary>
/// Everything one contact write changes in its workspace's partition: the contact row, its index rows, the
/// counters' deltas and the outbox event. Committed as one entity group transaction.
/// </summary>
internal sealed class ContactChange(string workspaceId)
{
    public string WorkspaceId { get; } = workspaceId;

    public List<TableTransactionAction> Actions { get; } = [];

    public Dictionary<string, long> Counters { get; } = new(StringComparer.Ordinal);

    /// <summary>Actions this change will submit, counting one per counter row it moves.</summary>
    public int Size => Actions.Count + Counters.Count(c => c.Value != 0);

    public static ContactChange Create(ContactEntity contact, DateTimeOffset now)
    {
        var change = new ContactChange(contact.PartitionKey);
        change.Actions.Add(new(TableTransactionActionType.Add, contact));
        foreach (var key in PointerKeys(contact))
        {
            change.Actions.Add(new(TableTransactionActionType.Add, Pointer(contact, key)));
        }

        change.AddIndexes(contact, +1);
        change.Event("contact.created", contact, now);
        return change;
    }

    public static ContactChange Update(ContactEntity before, ContactEntity after, DateTimeOffset now)
    {
        var change = new ContactChange(after.PartitionKey);
        change.Actions.Add(new(TableTransactionActionType.UpdateReplace, after, before.ETag));
        // A phone or user id that changes moves its pointer: the add fails the whole write if another contact holds it.
        var oldPointers = PointerKeys(before).ToHashSet(StringComparer.Ordinal);
        var newPointers = PointerKeys(after).ToHashSet(StringComparer.Ordinal);
        foreach (var key in oldPointers.Except(newPointers))
        {
            change.Actions.Add(new(TableTransactionActionType.Delete, Row(before.PartitionKey, key), Azure.ETag.All));
        }

        foreach (var key in newPointers.Except(oldPointers))
        {
            change.Actions.Add(new(TableTransactionActionType.Add, Pointer(after, key)));
        }

        // Index rows whose key changes are replaced; the others stay as they are.
        var old = IndexKeys(before).ToHashSet(StringComparer.Ordinal);
        var neu = IndexKeys(after).ToHashSet(StringComparer.Ordinal);
        foreach (var key in old.Except(neu))
        {
            change.Actions.Add(new(TableTransactionActionType.Delete, Row(before.PartitionKey, key), Azure.ETag.All));
        }

        foreach (var key in neu.Except(old))
        {
            change.Actions.Add(new(TableTransactionActionType.Add, Row(after.PartitionKey, key)));
        }

        change.CountIndexes(before, -1);
        change.CountIndexes(after, +1);
        change.Event("contact.updated", after, now);
        return change;
    }

    public static ContactChange Delete(ContactEntity contact)
    {
        var change = new ContactChange(contact.PartitionKey);
        change.Actions.Add(new(TableTransactionActionType.Delete, contact, contact.ETag));
        foreach (var key in PointerKeys(contact).Concat(IndexKeys(contact)))
        {
            change.Actions.Add(new(TableTransactionActionType.Delete, Row(contact.PartitionKey, key), Azure.ETag.All));
        }

        change.CountIndexes(contact, -1);
        change.Count(ContactKeys.TotalCounter, -1);
        return change;
    }

    /// <summary>Folds another change into this one (bulk: several contacts in one transaction).</summary>
    public void Absorb(ContactChange other)
    {
        Actions.AddRange(other.Actions);
        foreach (var (key, delta) in other.Counters)
        {
            Count(key, delta);
        }
    }

    /// <summary>
    /// The 400 naming the caller's field when a row this change writes would not fit Table Storage (measured by
    /// <see cref="StoredSize"/>, after escaping), or null when everything fits. With <see cref="ContactLimits"/>
    /// enforced at the edge this never fires; it is the stored-size check every contact write gets before it is sent.
    /// </summary>
    public ApiError? TooLarge()
    {
        foreach (var action in Actions.Where(a => a.ActionType != TableTransactionActionType.Delete))
        {
            if (StoredSize.Oversize(action.Entity) is { } part)
            {
                return ApiError.Validation(FieldOf(action.Entity.RowKey, part), "Too large to store. See the limits in the README.");
            }
        }

        return null;
    }

    /// <summary>Storage itself refused a value (a limit we did not measure): nothing of the transaction was written.</summary>
    public static ApiError NotStorable() => ApiError.NotStorable();

    private void AddIndexes(ContactEntity contact, int delta)
    {
        foreach (var key in IndexKeys(contact))
        {
            Actions.Add(new(TableTransactionActionType.Add, Row(contact.PartitionKey, key)));
        }

        CountIndexes(contact, delta);
        Count(ContactKeys.TotalCounter, delta);
    }

    private void CountIndexes(ContactEntity contact, int delta)
    {
        foreach (var tag in contact.Tags.Select(t => t.ToLowerInvariant()).Distinct(StringComparer.Ordinal))
        {
            Count(ContactKeys.TagCounter(tag), delta);
        }

        if (contact.Stage is { } stage)
        {
            Count(ContactKeys.StageCounter(stage), delta);
        }
    }

    private void Count(string counter, long delta)
    {
        Counters[counter] = Counters.GetValueOrDefault(counter) + delta;
    }

    private void Event(string name, ContactEntity contact, DateTimeOffset now)
    {
        OutboxEvent.Create(contact.PartitionKey, ContactKeys.OutboxPrefix + now.UtcTicks.ToString("d19", System.Globalization.CultureInfo.InvariantCulture) + "_" + contact.Id, name, ContactView.From(contact), now)
            .AddTo(Actions);
    }

    /// <summary>The rows that make a phone and a WhatsApp user id unique in the workspace, each holding the contact's id.</summary>
    private static IEnumerable<string> PointerKeys(ContactEntity contact)
    {
        if (!string.IsNullOrEmpty(contact.PhoneNumber))
        {
            yield return ContactKeys.Phone(contact.PhoneNumber);
        }

        if (!string.IsNullOrEmpty(contact.WaUserId))
        {
            yield return ContactKeys.User(contact.WaUserId);
        }
    }

    private static IEnumerable<string> IndexKeys(ContactEntity contact)
    {
        if (!string.IsNullOrEmpty(contact.Username))
        {
            yield return ContactKeys.Username(contact.Username, contact.Id);
        }

        if (!string.IsNullOrEmpty(contact.Name))
        {
            yield return ContactKeys.Name(contact.Name, contact.Id);
        }

        if (contact.Stage is { } stage)
        {
            yield return ContactKeys.Stage(stage, contact.Id);
        }

        foreach (var tag in contact.Tags.Select(t => t.ToLowerInvariant()).Distinct(StringComparer.Ordinal))
        {
            yield return ContactKeys.Tag(tag, contact.Id);
        }
    }

    // Which field a row (or a column of the contact row) comes from. The outbox event copies every field, but only
    // custom_fields can be large enough to matter there.
    private static string FieldOf(string rowKey, string part) => rowKey switch
    {
        _ when rowKey.StartsWith(ContactKeys.ContactPrefix, StringComparison.Ordinal) => part switch
        {
            nameof(ContactEntity.Name) => "name",
            nameof(ContactEntity.Email) => "email",
            nameof(ContactEntity.TagsJson) => "tags",
            nameof(ContactEntity.Stage) => "stage",
            nameof(ContactEntity.Username) => "username",
            _ => "custom_fields",
        },
        _ when rowKey.StartsWith(ContactKeys.NamePrefix, StringComparison.Ordinal) => "name",
        _ when rowKey.StartsWith(ContactKeys.TagPrefix, StringComparison.Ordinal) || rowKey.StartsWith(ContactKeys.CounterPrefix + ContactKeys.TagPrefix, StringComparison.Ordinal) => "tags",
        _ when rowKey.StartsWith(ContactKeys.StagePrefix, StringComparison.Ordinal) || rowKey.StartsWith(ContactKeys.CounterPrefix + ContactKeys.StagePrefix, StringComparison.Ordinal) => "stage",
        _ when rowKey.StartsWith(ContactKeys.PhonePrefix, StringComparison.Ordinal) => "phone_number",
        _ when rowKey.StartsWith(ContactKeys.UserPrefix, StringComparison.Ordinal) => "wa_user_id",
        _ when rowKey.StartsWith(ContactKeys.UsernamePrefix, StringComparison.Ordinal) => "username",
        _ => "custom_fields",
    };

    private static TableEntity Pointer(ContactEntity contact, string key)
    {
        var row = Row(contact.PartitionKey, key);
        row["ContactId"] = contact.Id;
        return row;
    }

    private static TableEntity Row(string partition, string rowKey) => new(partition, rowKey);
}
