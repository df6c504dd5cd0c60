using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Aisoule.Core.Results;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Connections;

namespace Aisoule.LocalHost;

/// <summary>
/// Gives the requests Kestrel refuses while parsing them (a <c>%00</c> in the path, a malformed header, a request
/// line or headers too long) the error envelope and an <c>X-Request-Id</c>, like every other answer. Kestrel answers
/// those itself, before any middleware, with an empty body, and offers no hook for it; so a connection middleware
/// watches what Kestrel writes. The app's own answers always have a body, so a 4xx/5xx head with
/// <c>Content-Length: 0</c> and <c>Connection: close</c> and nothing after it, at the start of what Kestrel flushed,
/// is one of Kestrel's refusals, and only such a head is rewritten (see aspnet/KestrelHttpServer#2947: there is no
/// supported way to give those a body). Everything else passes as is.
/// </summary>
internal static class KestrelRejections
{
    private static readonly byte[] HttpVersion = "HTTP/1.1 "u8.ToArray();
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    public static void UseEnvelope(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen) =>
        listen.Use(next => async connection =>
        {
            var transport = connection.Transport;
            var output = new Pipe();
            connection.Transport = new DuplexPipe(transport.Input, output.Writer);
            var copying = CopyAsync(output.Reader, transport.Output);
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                await output.Writer.CompleteAsync().ConfigureAwait(false);
                await copying.ConfigureAwait(false);
                connection.Transport = transport;
            }
        });

    private static async Task CopyAsync(PipeReader reader, PipeWriter writer)
    {
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = read.Buffer;
                if (!buffer.IsEmpty)
                {
                    if (Rewrite(buffer) is { } rewritten)
                    {
                        await writer.WriteAsync(rewritten).ConfigureAwait(false);
                    }
                    else
                    {
                        foreach (var segment in buffer)
                        {
                            await writer.WriteAsync(segment).ConfigureAwait(false);
                        }
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client went away (a reset or an abort): nothing more to deliver.
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The envelope version of a bodiless error head Kestrel wrote itself; null for anything else.</summary>
    internal static byte[]? Rewrite(ReadOnlySequence<byte> buffer)
    {
        // Kestrel's refusals are a few hundred bytes; anything longer is not one.
        if (buffer.Length > 1024)
        {
            return null;
        }

        var bytes = buffer.ToArray();
        if (!bytes.AsSpan().StartsWith(HttpVersion) || bytes.Length < HttpVersion.Length + 3
            || bytes[HttpVersion.Length] is not ((byte)'4' or (byte)'5')
            || bytes.AsSpan().IndexOf(HeadEnd) != bytes.Length - HeadEnd.Length)
        {
            return null;
        }

        var head = Encoding.ASCII.GetString(bytes, 0, bytes.Length - HeadEnd.Length);
        var lines = head.Split("\r\n");
        if (!lines.Skip(1).Any(l => l.Equals("Content-Length: 0", StringComparison.OrdinalIgnoreCase))
            || !lines.Skip(1).Any(l => l.Equals("Connection: close", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        var status = int.Parse(lines[0].AsSpan(HttpVersion.Length, 3), CultureInfo.InvariantCulture);
        var (code, message) = status switch
        {
            413 => (ErrorCodes.PayloadTooLarge, "The request body is too large."),
            414 => (ErrorCodes.BadRequest, "The request line is too long."),
            431 => (ErrorCodes.BadRequest, "The request headers are too large."),
            _ => (ErrorCodes.BadRequest, "The request is malformed (its request line, path or headers could not be parsed)."),
        };
        var requestId = RequestIds.Accept(default);
        var body = Encoding.UTF8.GetBytes(
            $"{{\"message\":\"{message} Request id {requestId}.\",\"code\":\"{code}\",\"status\":\"error\"}}");
        var builder = new StringBuilder();
        foreach (var line in lines.Where(l => !l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)))
        {
            builder.Append(line).Append("\r\n");
        }

        builder.Append("Content-Type: application/json; charset=utf-8\r\n")
            .Append(RequestIds.Header).Append(": ").Append(requestId).Append("\r\n")
            .Append("Content-Length: ").Append(body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(builder.ToString()), .. body];
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}
