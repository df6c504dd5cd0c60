using Aisoule.Core.Storage;
using Aisoule.Functions.Catalog;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Options;

namespace Aisoule.LocalHost;

/// <summary>
/// Drives the queue-triggered functions against the same storage queues the Functions host would: polls with
/// back-off up to host.json's <c>maxPollingInterval</c>, runs a batch at a time, deletes on success, makes a
/// failed message visible again after <c>visibilityTimeout</c>, and moves it to <c>{queue}-poison</c> once it has
/// been dequeued <c>maxDequeueCount</c> times.
/// </summary>
internal sealed partial class QueueTriggerListener(
    FunctionCatalog catalog,
    QueueServiceClient queues,
    IOptions<StorageOptions> storage,
    IConfiguration configuration,
    HostJson hostJson,
    IServiceScopeFactory scopes,
    ILogger<QueueTriggerListener> logger) : BackgroundService
{
    // Held invisible while the function runs; the Functions host uses the same 10 minutes (and renews it).
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);

    // Receives go through a client with the SDK's own network timeout (100 s), as the Functions host's do, and
    // without retries. A receive is not idempotent: the service leases its messages whether or not the answer
    // arrives, so the process-wide client's 10-second timeout (and each retry after it) would leave a slow
    // answer's messages invisible for the whole lease. A failed poll is simply made again by the loop.
    private readonly QueueServiceClient _receiver = storage.Value.ResolveConnection().CreateQueueServiceClient(new QueueClientOptions
    {
        MessageEncoding = QueueMessageEncoding.Base64,
        Retry = { MaxRetries = 0, NetworkTimeout = TimeSpan.FromSeconds(100) },
    });

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(catalog.QueueFunctions.Where(f => !BindingExpressions.IsDisabled(f.Name, configuration)).Select(f => Task.Run(() => PollAsync(f, stoppingToken), stoppingToken)));

    private async Task PollAsync(FunctionDescriptor function, CancellationToken stoppingToken)
    {
        var queue = queues.GetQueueClient(BindingExpressions.Resolve(function.QueueName!, configuration));
        var receiver = _receiver.GetQueueClient(queue.Name);
        var poison = queues.GetQueueClient(queue.Name + "-poison");
        var threshold = hostJson.NewBatchThreshold ?? hostJson.BatchSize / 2;
        var running = new System.Collections.Concurrent.ConcurrentDictionary<object, Task>();
        using var finished = new SemaphoreSlim(0);
        var delay = MinPollingInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            // As the Functions host: up to batchSize + newBatchThreshold at once; the next batch is fetched when
            // only newBatchThreshold are still running.
            if (running.Count > threshold)
            {
                await finished.WaitAsync(stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
                continue;
            }

            QueueMessage[] messages;
            try
            {
                messages = (await receiver.ReceiveMessagesAsync(hostJson.BatchSize, Lease, stoppingToken).ConfigureAwait(false)).Value;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
                continue;
            }
            catch (Exception ex) when (StorageFailures.IsUnavailable(ex))
            {
                LogPollFailed(logger, queue.Name, ex.Message);
                messages = [];
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            if (messages.Length == 0)
            {
                // Idle: wait for the polling interval, or less if something running finishes (it may have queued more).
                // The losing wait is cancelled, so it cannot swallow a later finish the loop needs to see.
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    await Task.WhenAny(Task.Delay(delay, idle.Token), finished.WaitAsync(idle.Token)).ConfigureAwait(false);
                    await idle.CancelAsync().ConfigureAwait(false);
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, hostJson.MaxPollingInterval.Ticks));
                continue;
            }

            delay = MinPollingInterval;
            foreach (var message in messages)
            {
                // Registered before it may start, so its own removal can never come first.
                var key = new object();
                var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                running[key] = Task.Run(
                    async () =>
                    {
                        await registered.Task.ConfigureAwait(false);
                        try
                        {
                            await ProcessAsync(function, queue, poison, message, stoppingToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            running.TryRemove(key, out _);
                            finished.Release();
                        }
                    },
                    CancellationToken.None);
                registered.SetResult();
            }
        }

        // Nothing releases the semaphore once every invocation has finished.
        await Task.WhenAll(running.Values).ConfigureAwait(false);
    }

    private async Task ProcessAsync(FunctionDescriptor function, QueueClient queue, QueueClient poison, QueueMessage message, CancellationToken stoppingToken)
    {
        try
        {
            await using (var scope = scopes.CreateAsyncScope())
            {
                await FunctionInvoker.InvokeAsync(function, scope.ServiceProvider, p =>
                    function.IsTrigger(p) ? FunctionInvoker.QueueTriggerValue(p.ParameterType, message) : stoppingToken).ConfigureAwait(false);
            }

            try
            {
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Already gone: the storage client retried a delete that had in fact succeeded.
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down mid-invocation: the message is released for another instance now rather than when its
            // lease ends. Not a failure, so it is never poisoned for it.
            await ReleaseAsync(queue, poison, message, failed: false).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogFunctionFailed(logger, ex, function.Name, message.MessageId, message.DequeueCount);
            await ReleaseAsync(queue, poison, message, failed: true).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives a message back before its lease ends: after a failure, visible again after host.json's
    /// visibilityTimeout (or poisoned at maxDequeueCount); on shutdown, visible at once.
    /// </summary>
    private async Task ReleaseAsync(QueueClient queue, QueueClient poison, QueueMessage message, bool failed)
    {
        try
        {
            if (failed && message.DequeueCount >= hostJson.MaxDequeueCount)
            {
                await poison.CreateIfNotExistsAsync().ConfigureAwait(false);
                await poison.SendMessageAsync(message.Body).ConfigureAwait(false);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt).ConfigureAwait(false);
                LogPoisoned(logger, message.MessageId, poison.Name);
            }
            else
            {
                await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: failed ? hostJson.VisibilityTimeout : TimeSpan.Zero).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (StorageFailures.IsUnavailable(ex) || ex is RequestFailedException)
        {
            // The lease still expires on its own, so the message is retried; nothing is lost.
            LogReleaseFailed(logger, message.MessageId, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Polling queue {Queue} failed: {Reason}")]
    private static partial void LogPollFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Function {Function} failed on message {MessageId} (dequeue count {DequeueCount})")]
    private static partial void LogFunctionFailed(ILogger logger, Exception exception, string function, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} moved to {PoisonQueue}")]
    private static partial void LogPoisoned(ILogger logger, string messageId, string poisonQueue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release message {MessageId}: {Reason}")]
    private static partial void LogReleaseFailed(ILogger logger, string messageId, string reason);
}
