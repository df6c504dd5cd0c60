using System.Collections.Concurrent;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Storage;

/// <summary>
/// Typed access to the app's tables and queues: names get the configured prefix, and each table or queue
/// is created once per process on first use (so a cold instance needs no deployment step, and a storage
/// outage at start-up does not stop the host from answering 503s).
/// </summary>
public sealed class StorageAccount(TableServiceClient tables, QueueServiceClient queues, IOptions<StorageOptions> options)
{
    private readonly string _prefix = options.Value.Prefix;
    private readonly ConcurrentDictionary<string, Lazy<Task>> _created = new(StringComparer.Ordinal);

    public TableServiceClient TableService => tables;

    public QueueServiceClient QueueService => queues;

    /// <summary>The physical name of a logical table or queue (letters and digits only).</summary>
    public string PhysicalName(string logicalName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logicalName);
        return _prefix + logicalName.ToLowerInvariant();
    }

    public async Task<TableClient> GetTableAsync(string logicalName, CancellationToken cancellationToken = default)
    {
        var client = tables.GetTableClient(PhysicalName(logicalName));
        await EnsureCreatedAsync("table:" + client.Name, ct => client.CreateIfNotExistsAsync(ct), cancellationToken).ConfigureAwait(false);
        return client;
    }

    public async Task<QueueClient> GetQueueAsync(string logicalName, CancellationToken cancellationToken = default)
    {
        var client = queues.GetQueueClient(PhysicalName(logicalName));
        await EnsureCreatedAsync("queue:" + client.Name, ct => client.CreateIfNotExistsAsync(cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        return client;
    }

    private async Task EnsureCreatedAsync(string key, Func<CancellationToken, Task> create, CancellationToken cancellationToken)
    {
        // The creation itself is not tied to one caller's cancellation (others may be awaiting it), nor is it one
        // request's write: read-only work may be the first to use a table.
        var lazy = _created.GetOrAdd(key, _ => new Lazy<Task>(() => ReadOnlyStorage.ExemptAsync(() => create(CancellationToken.None))));
        try
        {
            await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch when (lazy.Value.IsFaulted)
        {
            _created.TryRemove(new KeyValuePair<string, Lazy<Task>>(key, lazy));
            throw;
        }
    }
}
