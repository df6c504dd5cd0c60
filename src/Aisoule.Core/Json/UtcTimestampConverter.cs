using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aisoule.Core.Json;

/// <summary>Times on the wire are ISO-8601 UTC to the second (<c>2026-05-29T10:30:00Z</c>); any ISO-8601 is read.</summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    private const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value)
            ? value
            : throw new JsonException("Expected an ISO-8601 date and time, such as 2026-05-29T10:30:00Z.");

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture));
    }
}
