using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// A loopback HTTP proxy in front of the real Azurite's Table service that can lose answers: a request matching a
/// rule is passed on to Azurite (so the write happens), and then the connection is cut instead of answering. The
/// storage client sees no answer and retries, and the retry meets the write it already made: the ambiguous write
/// of a real network, with nothing mocked. Everything else passes through unchanged.
/// </summary>
internal sealed class LossyTableProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _azurite = new(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, UseCookies = false });
    private readonly ConcurrentQueue<Rule> _rules = new();
    private readonly ConcurrentQueue<Pair> _pairs = new();
    private readonly Uri _target;

    private LossyTableProxy(Uri target)
    {
        _target = target;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(ForwardAsync);
    }

    /// <summary>The connection string the app under test uses: tables through this proxy, queues straight to Azurite.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>Every request passed through (method, path, body), in order of arrival.</summary>
    public ConcurrentQueue<(string Method, string Path, string Body)> Requests { get; } = new();

    /// <summary>How many answers were lost so far.</summary>
    public int Lost => _lost;

    private int _lost;

    public static async Task<LossyTableProxy> StartAsync()
    {
        var azurite = Azurite.ConnectionString;
        var table = Part(azurite, "TableEndpoint");
        var proxy = new LossyTableProxy(new Uri(table));
        await proxy._app.StartAsync();
        var port = new Uri(proxy._app.Urls.First()).Port;
        proxy.ConnectionString = azurite.Replace(table, $"http://127.0.0.1:{port}/devstoreaccount1", StringComparison.Ordinal);
        return proxy;
    }

    /// <summary>A transaction (entity group batch): the table and its entities are in the body.</summary>
    public static bool IsBatch(string method, string path) => method == "POST" && path.EndsWith("$batch", StringComparison.Ordinal);

    /// <summary>
    /// Loses the answer to the next <paramref name="times"/> requests whose method, path and body text match
    /// <paramref name="match"/> (the body of a batch holds its entities as JSON). The request itself reaches Azurite.
    /// </summary>
    public void LoseAnswer(Func<string, string, string, bool> match, int times = 1) => _rules.Enqueue(new Rule(match, times, null, Refuse: false));

    /// <summary>
    /// Holds the next request matching <paramref name="match"/> for <paramref name="delay"/> — a slow write — and then
    /// passes it on, or with <paramref name="refuse"/> answers it (and the storage client's retries of it, which carry
    /// the same <c>x-ms-client-request-id</c>) 503 instead. The task completes when that request arrives.
    /// </summary>
    public Task Hold(Func<string, string, string, bool> match, TimeSpan delay, bool refuse = false)
    {
        var rule = new Rule(match, 1, delay, refuse);
        _rules.Enqueue(rule);
        return rule.Hit;
    }

    /// <summary>
    /// Holds the next request matching <paramref name="hold"/> until a request matching <paramref name="until"/> has
    /// arrived (since this call), then passes it on. The task says which came first: true when it was released by that
    /// request, false when it gave up after <paramref name="giveUp"/>. A client that sends the second only once the
    /// first is answered can never release it: that proves two requests are in flight at once without timing them.
    /// </summary>
    public Task<bool> HoldUntil(Func<string, string, string, bool> hold, Func<string, string, string, bool> until, TimeSpan giveUp)
    {
        var pair = new Pair(hold, until, giveUp);
        _pairs.Enqueue(pair);
        return pair.Released;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _azurite.Dispose();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var bodyText = Encoding.UTF8.GetString(body.ToArray());
        Requests.Enqueue((request.Method, request.Path.Value ?? "", bodyText));
        foreach (var pair in _pairs)
        {
            await pair.OnArrivalAsync(request.Method, request.Path.Value ?? "", bodyText);
        }

        var clientRequestId = request.Headers["x-ms-client-request-id"].ToString();
        var rule = _rules.FirstOrDefault(r => r.Applies(request.Method, request.Path.Value ?? "", bodyText, clientRequestId));
        if (rule?.Delay is { } delay)
        {
            await Task.Delay(rule.Retry(clientRequestId) ? TimeSpan.Zero : delay);
            if (rule.Refuse)
            {
                context.Response.StatusCode = 503;
                return;
            }

            rule = null;
        }

        // The target exactly as sent (still percent-encoded): the request's signature covers it.
        var rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_target.GetLeftPart(UriPartial.Authority) + rawTarget));
        if (body.Length > 0 || request.ContentLength is not null)
        {
            forward.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var (name, values) in request.Headers)
        {
            if (string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!forward.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!) && forward.Content is not null)
            {
                forward.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
            }
        }

        using var answer = await _azurite.SendAsync(forward, HttpCompletionOption.ResponseContentRead);
        if (rule is not null)
        {
            // Azurite has done it; the caller never hears.
            Interlocked.Increment(ref _lost);
            context.Abort();
            return;
        }

        context.Response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
        {
            if (string.Equals(name, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            context.Response.Headers[name] = values.ToArray();
        }

        await answer.Content.CopyToAsync(context.Response.Body);
    }

    private static string Part(string connectionString, string name) =>
        connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).First(p => p[0] == name)[1];

    private sealed class Pair(Func<string, string, string, bool> hold, Func<string, string, string, bool> until, TimeSpan giveUp)
    {
        private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<bool> _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _held;

        public Task<bool> Released => _released.Task;

        public async Task OnArrivalAsync(string method, string path, string body)
        {
            if (until(method, path, body))
            {
                _arrived.TrySetResult();
            }

            if (hold(method, path, body) && Interlocked.Exchange(ref _held, 1) == 0)
            {
                var first = await Task.WhenAny(_arrived.Task, Task.Delay(giveUp));
                _released.TrySetResult(first == _arrived.Task);
            }
        }
    }

    private sealed record Rule(Func<string, string, string, bool> Match, int Times, TimeSpan? Delay, bool Refuse)
    {
        private readonly TaskCompletionSource _hit = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _left = Times;
        private string? _clientRequestId;
        private int _seen;

        public Task Hit => _hit.Task;

        /// <summary>A match while uses are left, or (refusing) a retry of the request it refused.</summary>
        public bool Applies(string method, string path, string body, string clientRequestId)
        {
            if (Refuse && clientRequestId.Length > 0 && Volatile.Read(ref _clientRequestId) == clientRequestId)
            {
                return true;
            }

            if (Volatile.Read(ref _left) <= 0 || !Match(method, path, body) || Interlocked.Decrement(ref _left) < 0)
            {
                return false;
            }

            Volatile.Write(ref _clientRequestId, clientRequestId);
            _hit.TrySetResult();
            return true;
        }

        /// <summary>True for every arrival of the request after its first.</summary>
        public bool Retry(string clientRequestId) => Interlocked.Increment(ref _seen) > 1 && clientRequestId == _clientRequestId;
    }
}
