using Aisoule.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Http;

/// <summary>The <c>Idempotency-Key</c> header of a create (a send, a campaign): absent, or 1 to 255 printable characters.</summary>
public static class IdempotencyKeyHeader
{
    public const int MaxLength = 255;

    /// <summary>The key, or null when none was sent; false with the 400 naming the header when it is not one.</summary>
    public static bool TryRead(HttpRequest request, out string? key, out ApiError? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        (key, error) = (null, null);
        if (!request.Headers.TryGetValue("Idempotency-Key", out var header))
        {
            return true;
        }

        key = header.ToString();
        if (key.Length is 0 or > MaxLength || key.Any(char.IsControl))
        {
            error = ApiError.Validation("Idempotency-Key", $"1 to {MaxLength} printable characters.");
            return false;
        }

        return true;
    }
}
