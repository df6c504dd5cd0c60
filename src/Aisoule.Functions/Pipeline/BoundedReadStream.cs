namespace Aisoule.Functions.Pipeline;

/// <summary>Thrown when a request body grows past the limit while being read (chunked uploads).</summary>
public sealed class RequestBodyTooLargeException(long limit)
    : IOException($"Request body exceeds {limit} bytes.")
{
    public long Limit { get; } = limit;
}

/// <summary>
/// Wraps a request body so reading stops at the limit: a body without Content-Length is refused as soon as it
/// passes 5 MB, never buffered whole.
/// </summary>
public sealed class BoundedReadStream(Stream inner, long limit) : Stream
{
    private long _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return Count(inner.Read(buffer, offset, count));
        }
        catch (IOException ex) when (IsMalformed(ex))
        {
            throw Malformed(ex);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));
        }
        catch (IOException ex) when (IsMalformed(ex))
        {
            throw Malformed(ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // Kestrel reports most broken framing as BadHttpRequestException, but some (a chunk size that overflows) as a
    // plain IOException; whichever it is, the caller's body is at fault, never the server.
    private static bool IsMalformed(IOException exception) =>
        exception is not (RequestBodyTooLargeException or Microsoft.AspNetCore.Http.BadHttpRequestException);

    private static Microsoft.AspNetCore.Http.BadHttpRequestException Malformed(IOException exception) =>
        new("The request body could not be read.", Microsoft.AspNetCore.Http.StatusCodes.Status400BadRequest, exception);

    private int Count(int read)
    {
        _read += read;
        return _read > limit ? throw new RequestBodyTooLargeException(limit) : read;
    }
}
