using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// A loopback endpoint that takes webhook deliveries the way real receivers answer them: 200, any status with headers
/// (429 + Retry-After, 500, 410), a redirect, a hang past the sender's timeout, or a connection closed without an answer.
/// Every request is kept with its headers and raw body, in the order it arrived.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _count;

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>How to answer the n-th request (1-based) to <c>path</c>. Default: 200 with a short body.</summary>
    public Func<int, string, Answer> OnRequest { get; set; } = (_, _) => Answer.Ok();

    public ConcurrentQueue<Received> Requests { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    public string Url(string path = "hook") => new Uri(BaseAddress, path).ToString();

    public sealed record Received(string Path, IHeaderDictionary Headers, byte[] Body, DateTimeOffset At)
    {
        public string Text => System.Text.Encoding.UTF8.GetString(Body);

        public string Header(string name) => Headers.TryGetValue(name, out var v) ? v.ToString() : "";
    }

    public sealed record Answer(int Status, string? Body = null, IReadOnlyDictionary<string, string>? Headers = null, bool Hang = false, bool Close = false)
    {
        public static Answer Ok(string body = "ok") => new(200, body);

        public static Answer With(int status, string? body = null, IReadOnlyDictionary<string, string>? headers = null) => new(status, body, headers);

        public static Answer RetryAfter(int status, int seconds) => new(status, "slow down", new Dictionary<string, string> { ["Retry-After"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        public static Answer Redirect(string to) => new(302, null, new Dictionary<string, string> { ["Location"] = to });

        public static Answer Hanging() => new(200, Hang: true);

        public static Answer Closed() => new(0, Close: true);
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.Run(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var headers = new HeaderDictionary();
            foreach (var (k, v) in context.Request.Headers)
            {
                headers[k] = v;
            }

            var path = context.Request.Path.Value!.TrimStart('/');
            receiver.Requests.Enqueue(new Received(path, headers, buffer.ToArray(), DateTimeOffset.UtcNow));
            var answer = receiver.OnRequest(Interlocked.Increment(ref receiver._count), path);
            if (answer.Close)
            {
                context.Abort();
                return;
            }

            if (answer.Hang)
            {
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted).ContinueWith(_ => { });
                return;
            }

            context.Response.StatusCode = answer.Status;
            foreach (var (k, v) in answer.Headers ?? new Dictionary<string, string>())
            {
                context.Response.Headers[k] = v;
            }

            if (answer.Body is { } body)
            {
                await context.Response.WriteAsync(body);
            }
        });
        await app.StartAsync();
        receiver.BaseAddress = new Uri(app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return receiver;
    }

    /// <summary>Waits until <paramref name="done"/> holds for the requests received, or fails after <paramref name="seconds"/>.</summary>
    public async Task<IReadOnlyList<Received>> WaitAsync(Func<IReadOnlyList<Received>, bool> done, double seconds = 20, string? what = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var now = Requests.ToList();
            if (done(now))
            {
                return now;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {seconds} s for {what ?? "webhook requests"}; got {now.Count}: {string.Join(" | ", now.Select(r => r.Path + " " + r.Text[..Math.Min(120, r.Text.Length)]))}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
