using System.Text.Json;

namespace Aisoule.Core.Contacts;

/// <summary>A contact as the API shows it (spec §4).</summary>
public sealed record ContactView(
    string Id,
    string? PhoneNumber,
    string? WaUserId,
    string? WaParentUserId,
    string? Username,
    string? Name,
    string? Email,
    IReadOnlyList<string> Tags,
    string? Stage,
    JsonElement CustomFields,
    bool OptedIn,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastInboundAt)
{
    public static ContactView From(ContactEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return new(entity.Id, NullIfEmpty(entity.PhoneNumber), entity.WaUserId, entity.WaParentUserId, entity.Username, entity.Name, entity.Email, entity.Tags, entity.Stage,
            JsonDocument.Parse(entity.CustomFieldsJson).RootElement.Clone(), entity.OptedIn, entity.CreatedAt, entity.UpdatedAt, entity.LastInboundAt);
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}

/// <summary>One page of contacts with the exact total of everything the filters match.</summary>
public sealed record ContactPage(IReadOnlyList<ContactView> Contacts, long Total, int Page, int PerPage, string? NextCursor);

/// <summary>What a bulk upsert did: counts, and each item that failed with its index in the request.</summary>
public sealed record BulkResult(int Created, int Updated, IReadOnlyList<BulkFailure> Failed);

/// <summary>One failed bulk item.</summary>
public sealed record BulkFailure(int Index, string Code, string Message);
