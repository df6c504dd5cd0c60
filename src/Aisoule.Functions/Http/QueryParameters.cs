using System.Globalization;
using Aisoule.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Aisoule.Functions.Http;

/// <summary>Query-string values, checked: a bad one is a 400 naming the parameter, never a 500 or a silent default.</summary>
public static class QueryParameters
{
    public static Outcome<int> Number(HttpRequest request, string name, int fallback, int min, int max)
    {
        ArgumentNullException.ThrowIfNull(request);
        var raw = request.Query[name];
        if (raw.Count == 0)
        {
            return fallback;
        }

        return raw.Count == 1 && int.TryParse(raw[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : ApiError.Validation(name, $"Must be a whole number from {min} to {max}.");
    }

    /// <summary>A trimmed text value, or null when absent or blank.</summary>
    public static Outcome<string?> Text(HttpRequest request, string name, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(request);
        var raw = request.Query[name];
        if (raw.Count == 0 || string.IsNullOrWhiteSpace(raw[0]))
        {
            return (string?)null;
        }

        return raw.Count == 1 && raw[0]!.Trim().Length <= maxLength
            ? raw[0]!.Trim()
            : ApiError.Validation(name, $"Give it once, at most {maxLength} characters.");
    }
}
