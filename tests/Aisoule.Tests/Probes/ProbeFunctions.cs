using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Aisoule.Core.Identity;
using Aisoule.Core.Storage;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Tests.Probes;

/// <summary>
/// Functions that exist only in the test assembly, served by the local host beside the app's own, to drive the
/// shared pipeline through real HTTP and real queues: a JSON echo, a crash, a storage call, a write storage refuses,
/// a queue consumer.
/// </summary>
public sealed class ProbeFunctions(StorageAccount storage)
{
    /// <summary>Queue messages each probe queue received, keyed by queue name.</summary>
    public static ConcurrentDictionary<string, ConcurrentQueue<string>> Received { get; } = new();

    /// <summary>How many times the echo function ran, keyed by the X-Probe header.</summary>
    public static ConcurrentDictionary<string, int> EchoCalls { get; } = new();

    /// <summary>The role the read-ahead probe ran as, once per run, keyed by the X-Probe header.</summary>
    public static ConcurrentDictionary<string, ConcurrentQueue<string>> ReadAheadRuns { get; } = new();

    /// <summary>
    /// A GET that (with <c>?write=true</c>) writes: a row of its own per run in partition X-Probe of table
    /// <c>probe</c>, as a GET should not, and does not declare <see cref="AccessAttribute.AwaitAdmission"/>.
    /// </summary>
    [Function(nameof(ProbeReadAhead))]
    [Access(Credentials.SessionOrKey)]
    public async Task<ApiResult> ProbeReadAhead(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "probe/read-ahead")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (caller, probe) = (request.Caller(), request.Headers["X-Probe"].ToString());
        ReadAheadRuns.GetOrAdd(probe, _ => new()).Enqueue(caller.Role);
        if (request.Query["write"] == "true")
        {
            var table = await storage.GetTableAsync("probe", cancellationToken);
            await table.AddEntityAsync(new Azure.Data.Tables.TableEntity(probe, Guid.NewGuid().ToString("N")), cancellationToken);
        }

        return ApiResult.Ok(new { role = caller.Role });
    }

    [Function(nameof(ProbeEcho))]
    [Access(Credentials.None)]
    public static async Task<ApiResult> ProbeEcho(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "probe/echo")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        EchoCalls.AddOrUpdate(request.Headers["X-Probe"].ToString(), 1, (_, n) => n + 1);
        var body = await RequestBody.ReadAsync<EchoRequest>(request, cancellationToken);
        return body.IsValid ? ApiResult.Ok(body.Value!) : ApiResult.Failure(body.Error!);
    }

    [Function(nameof(ProbeCrash))]
    [Access(Credentials.None)]
    public static ApiResult ProbeCrash(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "probe/crash")] HttpRequest request) =>
        throw new InvalidOperationException("secret-internal-detail: connection string AccountKey=abc");

    [Function(nameof(ProbeItem))]
    [Access(Credentials.None)]
    public static ApiResult ProbeItem(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "probe/items/{id}")] HttpRequest request,
        string id) => ApiResult.Ok(new { id });

    [Function(nameof(ProbeStorage))]
    [Access(Credentials.None)]
    public async Task<ApiResult> ProbeStorage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "probe/storage")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync("probe", cancellationToken);
        return ApiResult.Ok(new { table = table.Name });
    }

    /// <summary>A write storage refuses for its size: straight to storage, or through <see cref="TableBatch"/>.</summary>
    [Function(nameof(ProbeOversize))]
    [Access(Credentials.None)]
    public async Task<ApiResult> ProbeOversize(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "probe/oversize")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var table = await storage.GetTableAsync("probe", cancellationToken);
        var entity = new Azure.Data.Tables.TableEntity("p", Guid.NewGuid().ToString("N")) { ["Text"] = new string('x', StoredSize.MaxStringChars + 1) };
        if (request.Query["via"] == "batch")
        {
            await TableBatch.SubmitAsync(table, [new(Azure.Data.Tables.TableTransactionActionType.Add, entity)], cancellationToken);
        }
        else
        {
            await table.AddEntityAsync(entity, cancellationToken);
        }

        return ApiResult.Ok(new { written = true });
    }

    [Function(nameof(ProbeWrite))]
    [Access(Credentials.SessionOrKey, Scopes.ContactsWrite)]
    public static ApiResult ProbeWrite(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "probe/write")] HttpRequest request) =>
        ApiResult.Ok(new { request.Caller().WorkspaceId });

    [Function(nameof(ProbeRead))]
    [Access(Credentials.SessionOrKey, Scopes.ContactsRead)]
    public static ApiResult ProbeRead(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "probe/read")] HttpRequest request) =>
        ApiResult.Ok(new { request.Caller().WorkspaceId });

    [Function(nameof(ProbeQueue))]
    public static void ProbeQueue([QueueTrigger("%ProbeQueue%")] string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var queue = message.Split(':')[0];
        Received.GetOrAdd(queue, _ => new ConcurrentQueue<string>()).Enqueue(message);
        if (message.EndsWith(":fail", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Probe asked to fail.");
        }
    }
}

/// <summary>A request record with declared constraints, as the app's endpoints declare theirs.</summary>
public sealed record EchoRequest
{
    [Required(ErrorMessage = "Name is required.")]
    [StringLength(50, ErrorMessage = "Name is at most 50 characters.")]
    public string? Name { get; init; }

    [Range(0, 150, ErrorMessage = "Age must be between 0 and 150.")]
    public int? Age { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }
}
