using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Webhooks;

/// <summary>What one POST to a webhook's URL came to.</summary>
/// <param name="StatusCode">The HTTP status answered, or null when none was (refused, timed out, connection lost).</param>
/// <param name="Duration">From the request leaving to the answer's status line (or the failure).</param>
/// <param name="Response">The first 1 KB of the answer's body, as text.</param>
/// <param name="Error">Why it failed, in words, when it did.</param>
/// <param name="RetryAfter">The answer's <c>Retry-After</c> on a 429 or 503, when it gave one.</param>
public sealed record WebhookAttemptResult(int? StatusCode, TimeSpan Duration, string? Response, string? Error, TimeSpan? RetryAfter)
{
    /// <summary>Any 2xx within the time allowed; a 3xx is a failure (redirects are not followed).</summary>
    public bool Succeeded => StatusCode is >= 200 and < 300;

    /// <summary><c>410 Gone</c>: the receiver says this subscription is dead (Zapier's rule).</summary>
    public bool Gone => StatusCode == 410;
}

/// <summary>Resolves a host name to its addresses (the system's DNS unless a test gives another).</summary>
public delegate Task<IPAddress[]> WebhookHostResolver(string host, CancellationToken cancellationToken);

/// <summary>
/// POSTs a signed body to a webhook's URL: no redirects followed, no proxy, a time limit, at most 1 KB of the answer
/// read, and (unless <c>Webhooks:AllowPrivateTargets</c>) a connection only to an address <see cref="WebhookTargets"/>
/// allows, checked on the address connected to after DNS.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    public const int ResponseExcerptBytes = 1024;

    private readonly HttpClient _client;
    private readonly IOptionsMonitor<WebhookOptions> _options;
    private readonly WebhookHostResolver _resolve;

    public WebhookSender(IOptionsMonitor<WebhookOptions> options, WebhookHostResolver? resolver = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _resolve = resolver ?? ((host, ct) => Dns.GetHostAddressesAsync(host, ct));
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ConnectCallback = ConnectAsync,
            MaxConnectionsPerServer = 16,
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Aisoule-Webhooks", "1.0"));
    }

    /// <summary>Raised by the connect step for a target that resolves only to forbidden addresses.</summary>
    public sealed class ForbiddenTargetException(string message) : IOException(message);

    public async Task<WebhookAttemptResult> PostAsync(string url, byte[] body, IEnumerable<KeyValuePair<string, string>> headers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(headers);
        var o = _options.CurrentValue;
        if (WebhookTargets.Problem(url, o.AllowPrivateTargets) is { } problem)
        {
            return new(null, TimeSpan.Zero, null, "The URL is not allowed: " + problem, null);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(o.Timeout);
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var excerpt = await ExcerptAsync(response, timeout.Token).ConfigureAwait(false);
            var elapsed = clock.Elapsed;
            TimeSpan? retryAfter = status is 429 or 503 ? RetryAfter(response.Headers.RetryAfter) : null;
            var error = status switch
            {
                >= 200 and < 300 => null,
                >= 300 and < 400 => $"Answered {status} (a redirect): redirects are not followed; give the final URL.",
                _ => $"Answered {status}.",
            };
            return new(status, elapsed, excerpt, error, retryAfter);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(null, clock.Elapsed, null, $"No answer within {o.Timeout.TotalSeconds:0.#} s.", null);
        }
        catch (HttpRequestException ex)
        {
            var forbidden = FindInner<ForbiddenTargetException>(ex);
            return new(null, clock.Elapsed, null, forbidden?.Message ?? Describe(ex), null);
        }
    }

    private static async Task<string?> ExcerptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[ResponseExcerptBytes];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return read == 0 ? null : Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            // The status decided the outcome; a body cut short is only less to show.
            return null;
        }
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header)
    {
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var allowPrivate = _options.CurrentValue.AllowPrivateTargets;
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await _resolve(host, cancellationToken).ConfigureAwait(false);
        var allowed = allowPrivate ? addresses : [.. addresses.Where(a => !WebhookTargets.Forbidden(a))];
        if (allowed.Length == 0)
        {
            throw new ForbiddenTargetException(addresses.Length == 0
                ? $"{host} did not resolve to any address."
                : $"{host} resolves to a loopback, private, link-local or otherwise internal address; deliveries there are refused.");
        }

        Exception? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                // The address connected to is one of those just checked: nothing resolves the name again in between.
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
        }

        throw last!;
    }

    private static string Describe(HttpRequestException ex) =>
        FindInner<SocketException>(ex) is { } socket
            ? socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "Connection refused.",
                SocketError.HostNotFound or SocketError.NoData => "The host name does not resolve.",
                SocketError.TimedOut => "Could not connect in time.",
                _ => "Connection failed: " + socket.SocketErrorCode + ".",
            }
            : ex.HttpRequestError switch
            {
                HttpRequestError.ResponseEnded => "The connection closed before an answer.",
                HttpRequestError.SecureConnectionError => "The TLS handshake failed (certificate or protocol).",
                HttpRequestError.NameResolutionError => "The host name does not resolve.",
                HttpRequestError.InvalidResponse => "The answer was not valid HTTP.",
                _ => "The request failed: " + ex.Message,
            };

    private static T? FindInner<T>(Exception ex)
        where T : Exception
    {
        for (var e = (Exception?)ex; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    public void Dispose() => _client.Dispose();
}
