using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Aisoule.Core.Json;
using Aisoule.Core.Results;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Aisoule.Functions.Http;

/// <summary>A parsed and validated request body, or the 400 that says exactly what is wrong with it.</summary>
public readonly record struct RequestBody<T>(T? Value, ApiError? Error)
    where T : class
{
    public bool IsValid => Error is null;

    /// <summary>The top-level fields the caller sent (snake_case), so an update can tell "absent" from "null".</summary>
    public IReadOnlySet<string> Present { get; init; } = new HashSet<string>();
}

/// <summary>
/// Reads JSON bodies once, at the edge: syntax errors with their position, unknown fields and wrong types
/// with their path, then the request record's declared constraints — each as a 400 envelope.
/// </summary>
public static class RequestBody
{
    public static async Task<RequestBody<T>> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsJson(request.ContentType))
        {
            return Fail<T>(ApiError.UnsupportedMediaType());
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Fail<T>(InvalidJson(ex, empty: false));
        }

        using (document)
        {
            return Parse<T>(document.RootElement);
        }
    }

    /// <summary>
    /// As <see cref="ReadAsync{T}"/>, keeping the exact bytes too (for an Idempotency-Key's body comparison).
    /// The pipeline has already refused bodies over 5 MB.
    /// </summary>
    public static async Task<(RequestBody<T> Body, byte[] Raw)> ReadWithRawAsync<T>(HttpRequest request, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsJson(request.ContentType))
        {
            return (Fail<T>(ApiError.UnsupportedMediaType()), []);
        }

        var raw = await ReadRawAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(raw);
            return (Parse<T>(document.RootElement), raw);
        }
        catch (JsonException ex)
        {
            return (Fail<T>(InvalidJson(ex, raw.Length == 0)), raw);
        }
    }

    /// <summary>The body's bytes, whatever they are (a signature is checked over exactly these).</summary>
    public static async Task<byte[]> ReadRawAsync(HttpRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>One JSON object (a body, or one item of a bulk body) to a validated request record.</summary>
    public static RequestBody<T> Parse<T>(JsonElement element)
        where T : class
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return Fail<T>(ApiError.InvalidJson("Request body must be a JSON object."));
        }

        if (UnreadableText(element, "") is { } field)
        {
            return Fail<T>(ApiError.Validation(field, "Not valid text: a lone surrogate (\\ud800) or bytes that are not UTF-8."));
        }

        T? value;
        try
        {
            value = element.Deserialize<T>(AisouleJson.Options);
        }
        catch (JsonException ex)
        {
            return Fail<T>(ApiError.Validation(FieldPath(ex.Path), DescribeProblem(ex)));
        }

        if (value is null)
        {
            return Fail<T>(ApiError.InvalidJson("Request body must be a JSON object."));
        }

        var errors = Validate(value);
        return errors.Count == 0
            ? new RequestBody<T>(value, null) { Present = element.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal) }
            : Fail<T>(ApiError.Validation(errors));
    }

    /// <summary>
    /// The path of the first string or property name that is not text: JSON allows a lone surrogate escape and the
    /// parser passes raw bytes through unchecked, but neither can become a .NET string, a stored property or UTF-8 for
    /// Meta. Checked once here, so no later step (even one reading a raw <see cref="JsonElement"/>) meets one.
    /// </summary>
    private static string? UnreadableText(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Readable(() => element.GetString()) ? null : path;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name = "";
                    if (!Readable(() => name = property.Name))
                    {
                        return path;
                    }

                    if (UnreadableText(property.Value, path.Length == 0 ? name : path + "." + name) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (UnreadableText(item, $"{path}[{index++}]") is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static bool Readable(Action read)
    {
        try
        {
            read();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>A syntax error as the caller sees it: where it is, or that there was nothing to read.</summary>
    private static ApiError InvalidJson(JsonException ex, bool empty) =>
        empty || ex.LineNumber is null || ex.BytePositionInLine is null
            ? ApiError.InvalidJson("Request body is empty; a JSON object is required.")
            : ApiError.InvalidJson($"Malformed JSON at line {ex.LineNumber + 1}, position {ex.BytePositionInLine + 1}.");

    // The media type matters only where a body is read: routing (404/405) is decided before it.
    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        && (!media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static Dictionary<string, string[]> Validate(object value)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        return results
            .SelectMany(r => (r.MemberNames.Any() ? r.MemberNames : [""]).Select(m => (Field: AisouleJson.FieldName(m), r.ErrorMessage)))
            .GroupBy(e => e.Field, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage ?? "Invalid value.").ToArray(), StringComparer.Ordinal);
    }

    // System.Text.Json reports the JSON path of the offending token ("$.tags[0]"); callers see "tags[0]".
    private static string FieldPath(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "" : path.TrimStart('$').TrimStart('.');

    private static string DescribeProblem(JsonException exception) =>
        exception.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "Unknown field."
        : exception.Message.Contains("missing required properties", StringComparison.Ordinal) ? "Required fields are missing."
        : "Invalid value for this field's type.";

    private static RequestBody<T> Fail<T>(ApiError error)
        where T : class => new(null, error);
}
