using Azure.Core;
using Azure.Core.Pipeline;

namespace Aisoule.Core.Storage;

/// <summary>
/// Work that may only read storage. While it runs (it and everything it awaits), a table or queue request other than
/// a read (GET, HEAD, but not a queue receive) is refused before it leaves the process, and the attempt is noted on its
/// <see cref="Attempt"/>. Creating a table or queue on first use is allowed (<see cref="ExemptAsync"/>).
/// The API runs a GET's function this way while the caller's admission is still being written, so a request that turns
/// out not to be admitted has written nothing.
/// </summary>
public static class ReadOnlyStorage
{
    private static readonly AsyncLocal<Attempt?> Current = new();

    /// <summary>The policy the storage clients run first on every request (see <c>AddCoreStorage</c>).</summary>
    public static HttpPipelinePolicy Guard { get; } = new GuardPolicy();

    /// <summary>Runs <paramref name="work"/> read-only; <paramref name="attempt"/> says afterwards whether it tried to write.</summary>
    public static async Task<T> RunAsync<T>(Attempt attempt, Func<Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        ArgumentNullException.ThrowIfNull(work);

        // An async method's changes to its ExecutionContext end with it: the caller never runs read-only.
        Current.Value = attempt;
        return await work().ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="work"/> outside any read-only work around it (creating a table on first use).</summary>
    public static async Task ExemptAsync(Func<Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Current.Value = null;
        await work().ConfigureAwait(false);
    }

    /// <summary>One piece of read-only work: did it try to write?</summary>
    public sealed class Attempt
    {
        private volatile bool _triedToWrite;

        public bool TriedToWrite => _triedToWrite;

        internal void Refused() => _triedToWrite = true;
    }

    // GET and HEAD read, except a queue's GET …/messages without peekonly=true: a receive, which hides the messages.
    private static bool IsRead(Request request) =>
        (request.Method == RequestMethod.Get || request.Method == RequestMethod.Head)
        && !(request.Uri.Path.EndsWith("/messages", StringComparison.Ordinal) && !request.Uri.Query.Contains("peekonly=true", StringComparison.OrdinalIgnoreCase));

    private sealed class GuardPolicy : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Check(message);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Check(message);
            return ProcessNextAsync(message, pipeline);
        }

        private static void Check(HttpMessage message)
        {
            if (Current.Value is { } attempt && !IsRead(message.Request))
            {
                attempt.Refused();
                throw new ReadOnlyStorageException($"{message.Request.Method} {message.Request.Uri.Path} refused: this work may only read storage.");
            }
        }
    }
}

/// <summary>Read-only work tried to write; nothing was sent.</summary>
public sealed class ReadOnlyStorageException(string message) : InvalidOperationException(message);
