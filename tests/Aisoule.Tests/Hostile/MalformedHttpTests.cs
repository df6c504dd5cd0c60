using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Hostile;

/// <summary>
/// Requests no HTTP client library would send, written byte by byte on a socket: the ones Kestrel refuses while
/// parsing (before any middleware) and the ones whose body framing breaks while the function reads it. Each still
/// gets the error envelope and an <c>X-Request-Id</c> on the local host.
/// </summary>
public sealed class MalformedHttpTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private string _key = "";

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        var owner = await Infrastructure.Identity.SignUpAsync(_host);
        _key = await owner.CreateKeyAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string, string, int> ParseTimeRejections() => new()
    {
        { "%00 in the path", "GET /api/contacts/%00 HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
        { "%00 in an unknown path", "DELETE /api/a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
        { "header line without a colon", "GET /api/health HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n", 400 },
        { "NUL in a header value", "GET /api/health HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n", 400 },
        { "space before the colon", "GET /api/health HTTP/1.1\r\nHost: h\r\nX-A : b\r\n\r\n", 400 },
        { "Content-Length not a number", "POST /api/contacts HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", 400 },
        { "Content-Length past 2^63", "POST /api/contacts HTTP/1.1\r\nHost: h\r\nContent-Length: 92233720368547758080\r\n\r\n", 400 },
        { "two Content-Lengths", "POST /api/contacts HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}", 400 },
        { "no Host header", "GET /api/health HTTP/1.1\r\n\r\n", 400 },
        { "invalid method", "G@T /api/health HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
        { "raw bytes past ASCII in the path", "GET /api/\u00ff\u00fe HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
        { "control character in the path (routed, not refused)", "GET /api/\u0001 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 404 },
        { "unknown HTTP version", "GET /api/health HTTP/7.3\r\nHost: h\r\n\r\n", 505 },
        { "request line of 20,000 characters", "GET /api/" + new string('a', 20_000) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414 },
        { "40,000 characters of headers", "GET /api/health HTTP/1.1\r\nHost: h\r\nX-A: " + new string('a', 40_000) + "\r\n\r\n", 431 },
    };

    [Theory]
    [MemberData(nameof(ParseTimeRejections))]
    public async Task A_request_kestrel_refuses_while_parsing_gets_the_error_envelope(string what, string request, int status)
    {
        var (code, headers, body) = await SendRawAsync(Encoding.Latin1.GetBytes(request));

        AssertEnvelope(what, status, code, headers, body);
    }

    [Theory]
    [InlineData("HEAD /api/no-such-thing HTTP/1.1\r\nHost: h\r\n\r\nGET /api/health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")]
    [InlineData("HEAD /api/health HTTP/1.1\r\nHost: h\r\n\r\nGET /api/health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")]
    public async Task A_head_request_is_answered_without_a_body_and_the_connection_stays_in_step(string requests)
    {
        var address = _host.Client.BaseAddress!;
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(requests));
        using var received = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await stream.CopyToAsync(received, timeout.Token);

        var text = Encoding.UTF8.GetString(received.ToArray());
        var second = text.IndexOf("HTTP/1.1 200", StringComparison.Ordinal);
        Assert.True(second > 0 && text[..second].EndsWith("\r\n\r\n", StringComparison.Ordinal), text);
    }

    [Theory]
    [InlineData("bad chunk size", "zz\r\n{}\r\n0\r\n\r\n")]
    [InlineData("chunk longer than announced", "2\r\n{\"a\":1}\r\n0\r\n\r\n")]
    [InlineData("chunk size past 2^63", "92233720368547758080\r\n{}\r\n0\r\n\r\n")]
    public async Task A_chunked_body_that_breaks_while_it_is_read_gets_a_400_envelope_and_writes_nothing(string what, string chunks)
    {
        var before = await TotalAsync();
        var request = "POST /api/contacts HTTP/1.1\r\nHost: h\r\nX-API-Key: " + _key + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks;

        var (code, headers, body) = await SendRawAsync(Encoding.ASCII.GetBytes(request));

        Assert.True(code != 500, "Logged: " + string.Concat(_host.Logs.Entries.Where(e => e.Exception is not null).Select(e => "\n" + e.Exception)));
        AssertEnvelope(what, 400, code, headers, body);
        Assert.Equal(before, await TotalAsync());
    }

    [Theory]
    [InlineData("messages/send", """{"to":"+12125550100","type":"interactive","interactive":{"type":"button","a\ud800":1}}""", "interactive")]
    [InlineData("messages/send", """{"to":"+12125550100","type":"template","template":{"name":"hello_world","language":"en_US","components":[{"type":"body","parameters":[{"type":"text","text":"\ude00\ud83d"}]}]}}""", "template.components[0].parameters[0].text")]
    [InlineData("contacts", """{"phone_number":"+12125550100","custom_fields":{"note":"a\udc00"}}""", "custom_fields.note")]
    public async Task Text_that_cannot_be_text_anywhere_in_a_body_is_a_400_naming_where(string path, string json, string field)
    {
        var before = await TotalAsync();

        var refused = await Envelope.ErrorAsync(await new KeyClient(_host.Client, _key).PostJsonAsync(path, json), System.Net.HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(refused.GetProperty("errors").TryGetProperty(field, out _), refused.ToString());
        Assert.Equal(before, await TotalAsync());
    }

    private async Task<long> TotalAsync() =>
        (await Envelope.SuccessAsync(await new KeyClient(_host.Client, _key).GetAsync("contacts"))).GetProperty("total").GetInt64();

    private static void AssertEnvelope(string what, int status, int code, string headers, string body)
    {
        Assert.True(code == status, $"{what}: expected {status}, got {code}\n{headers}\n{body}");
        Assert.True(headers.Contains("\r\nX-Request-Id: ", StringComparison.OrdinalIgnoreCase), $"{what}: no X-Request-Id\n{headers}");
        Assert.True(headers.Contains("\r\nContent-Type: application/json", StringComparison.OrdinalIgnoreCase), $"{what}: not JSON\n{headers}");
        using var envelope = JsonDocument.Parse(body);
        Assert.Equal("error", envelope.RootElement.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(envelope.RootElement.GetProperty("code").GetString()));
        Assert.False(string.IsNullOrEmpty(envelope.RootElement.GetProperty("message").GetString()));
    }

    /// <summary>Writes the bytes, reads until the server closes the connection; the status, the head and the body.</summary>
    private async Task<(int Status, string Headers, string Body)> SendRawAsync(byte[] request)
    {
        var address = _host.Client.BaseAddress!;
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request);
        }
        catch (IOException)
        {
            // The server may answer and close before it has read everything; its answer is still there to read.
        }

        using var received = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await stream.CopyToAsync(received, timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
        }

        var text = Encoding.UTF8.GetString(received.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, $"No response head: {text}");
        var head = text[..split];
        var body = text[(split + 4)..];
        return (int.Parse(head.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture), head, head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? Dechunk(body) : body);
    }

    private static string Dechunk(string chunked)
    {
        var body = new StringBuilder();
        var at = 0;
        while (true)
        {
            var end = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..end], 16);
            if (size == 0)
            {
                return body.ToString();
            }

            body.Append(chunked, end + 2, size);
            at = end + 2 + size + 2;
        }
    }
}
