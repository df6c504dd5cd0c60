using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Aisoule.Core.Json;

/// <summary>The one set of JSON rules for requests, responses and queue messages: snake_case, strict on input.</summary>
public static class AisouleJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            PropertyNameCaseInsensitive = false,
            // An unknown field is a caller's typo; saying so beats silently ignoring it.
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            NumberHandling = JsonNumberHandling.Strict,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            TypeInfoResolver = JsonTypeInfoResolver.Combine(AisouleJsonContext.Default, new DefaultJsonTypeInfoResolver()),

            // Responses are application/json, never inlined in HTML: "+919876543210" stays readable instead of
            // "\u002B919876543210". Quotes, backslashes and control characters are still escaped.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.Converters.Add(new UtcTimestampConverter());
        options.MakeReadOnly();
        return options;
    }

    /// <summary>The wire name of a C# member, as callers see it in bodies and field errors.</summary>
    public static string FieldName(string memberName) => JsonNamingPolicy.SnakeCaseLower.ConvertName(memberName);
}
