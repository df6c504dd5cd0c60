using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Serialization;
using System.Text.Json;
using Azure.Data.Tables;

namespace Aisoule.Core.Storage;

/// <summary>
/// Table Storage's limits on one entity, measured the way the service measures them (strings in UTF-16 code units,
/// after every escape and serialisation), so a write is checked before it is sent rather than refused by storage.
/// Field limits elsewhere are chosen so that these always hold; <see cref="TableBatch"/> checks them on every
/// transaction as the last guard.
/// </summary>
public static class StoredSize
{
    /// <summary>PartitionKey and RowKey: 1 KiB of UTF-16 each on Azure; Azurite refuses more than 512 characters.</summary>
    public const int MaxKeyChars = 512;

    /// <summary>A string property: 64 KiB of UTF-16 on Azure; Azurite refuses more than 32,768 characters.</summary>
    public const int MaxStringChars = 32 * 1024;

    /// <summary>A binary property: 64 KiB.</summary>
    public const int MaxBinaryBytes = 64 * 1024;

    /// <summary>A whole entity: 1 MiB, by Azure's formula (<see cref="EntityBytes"/>).</summary>
    public const int MaxEntityBytes = 1024 * 1024;

    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Properties = new();

    /// <summary>
    /// The first <paramref name="maxChars"/> UTF-16 code units of <paramref name="text"/> (what storage counts), one
    /// fewer rather than half a surrogate pair.
    /// </summary>
    public static string Cut(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length <= maxChars)
        {
            return text;
        }

        return text[..(maxChars > 0 && char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars)];
    }

    /// <summary>Characters of <paramref name="value"/> written as JSON with <paramref name="options"/>: what a JSON column stores.</summary>
    public static int JsonChars<T>(T value, JsonSerializerOptions options) => JsonSerializer.Serialize(value, options).Length;

    /// <summary>
    /// The part of <paramref name="entity"/> that storage would refuse — <c>PartitionKey</c>, <c>RowKey</c>, a property
    /// name, or <c>*</c> for the entity as a whole — or null when all of it fits.
    /// </summary>
    public static string? Oversize(ITableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        if (entity.PartitionKey?.Length > MaxKeyChars)
        {
            return nameof(ITableEntity.PartitionKey);
        }

        if (entity.RowKey?.Length > MaxKeyChars)
        {
            return nameof(ITableEntity.RowKey);
        }

        foreach (var (name, value) in Values(entity))
        {
            switch (value)
            {
                case string text when text.Length > MaxStringChars:
                case byte[] binary when binary.Length > MaxBinaryBytes:
                case BinaryData data when data.ToMemory().Length > MaxBinaryBytes:
                    return name;
            }
        }

        return EntityBytes(entity) > MaxEntityBytes ? "*" : null;
    }

    /// <summary>Azure's size of an entity: 4 + keys in UTF-16 + for each property 8 + its name in UTF-16 + its value.</summary>
    public static long EntityBytes(ITableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        long bytes = 4 + (2L * ((entity.PartitionKey?.Length ?? 0) + (entity.RowKey?.Length ?? 0)));
        foreach (var (name, value) in Values(entity))
        {
            bytes += 8 + (2L * name.Length) + ValueBytes(value);
        }

        return bytes;
    }

    /// <summary>Throws <see cref="StoredSizeExceededException"/> for the first action whose entity storage would refuse.</summary>
    public static void EnsureFits(IEnumerable<TableTransactionAction> actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        foreach (var (action, index) in actions.Select((a, i) => (a, i)))
        {
            if (action.ActionType != TableTransactionActionType.Delete && Oversize(action.Entity) is { } part)
            {
                throw new StoredSizeExceededException(index, part);
            }

            if (action.ActionType == TableTransactionActionType.Delete && (action.Entity.PartitionKey?.Length > MaxKeyChars || action.Entity.RowKey?.Length > MaxKeyChars))
            {
                throw new StoredSizeExceededException(index, nameof(ITableEntity.RowKey));
            }
        }
    }

    private static long ValueBytes(object? value) => value switch
    {
        null => 0,
        string text => 4 + (2L * text.Length),
        byte[] binary => 4 + binary.Length,
        BinaryData data => 4 + data.ToMemory().Length,
        bool => 1,
        int => 4,
        Guid => 16,
        _ => 8,
    };

    private static IEnumerable<(string Name, object? Value)> Values(ITableEntity entity)
    {
        if (entity is TableEntity dictionary)
        {
            foreach (var (name, value) in dictionary)
            {
                if (name is not (nameof(ITableEntity.PartitionKey) or nameof(ITableEntity.RowKey) or nameof(ITableEntity.Timestamp) or "odata.etag"))
                {
                    yield return (name, value);
                }
            }

            yield break;
        }

        foreach (var property in Properties.GetOrAdd(entity.GetType(), Stored))
        {
            yield return (property.Name, property.GetValue(entity) is Enum e ? e.ToString() : property.GetValue(entity));
        }
    }

    // The properties the SDK writes for a typed entity: public, readable and writable, not [IgnoreDataMember].
    private static PropertyInfo[] Stored(Type type) =>
    [
        .. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<IgnoreDataMemberAttribute>() is null)
            .Where(p => p.Name is not (nameof(ITableEntity.PartitionKey) or nameof(ITableEntity.RowKey) or nameof(ITableEntity.Timestamp) or nameof(ITableEntity.ETag))),
    ];
}
