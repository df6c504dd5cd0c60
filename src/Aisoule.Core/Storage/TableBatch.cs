using Azure;
using Azure.Data.Tables;

namespace Aisoule.Core.Storage;

/// <summary>
/// Entity group transactions with Azure's rules enforced here: one partition, at most 100 actions, and every
/// entity within Table Storage's size limits (<see cref="StoredSize"/>). Azurite accepts batches that span
/// partitions; real Azure rejects them, so we refuse them first.
/// </summary>
public static class TableBatch
{
    public const int MaxActions = 100;

    public static async Task<Response<IReadOnlyList<Response>>> SubmitAsync(
        TableClient table,
        IReadOnlyList<TableTransactionAction> actions,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        Validate(actions);
        return await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Splits actions on one partition into transactions of at most 100.</summary>
    public static IEnumerable<IReadOnlyList<TableTransactionAction>> Chunk(IEnumerable<TableTransactionAction> actions) =>
        actions.Chunk(MaxActions);

    public static void Validate(IReadOnlyList<TableTransactionAction> actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (actions.Count == 0)
        {
            throw new ArgumentException("A table transaction needs at least one action.", nameof(actions));
        }

        if (actions.Count > MaxActions)
        {
            throw new ArgumentException($"A table transaction holds at most {MaxActions} actions; got {actions.Count}.", nameof(actions));
        }

        var partition = actions[0].Entity.PartitionKey;
        if (actions.Any(a => !string.Equals(a.Entity.PartitionKey, partition, StringComparison.Ordinal)))
        {
            throw new ArgumentException("A table transaction must stay within one partition.", nameof(actions));
        }

        StoredSize.EnsureFits(actions);
    }
}
