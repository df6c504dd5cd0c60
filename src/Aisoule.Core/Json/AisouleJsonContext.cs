using System.Text.Json.Serialization;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Json;

/// <summary>Source-generated metadata for the payloads every request touches.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(Dictionary<string, string[]>))]
internal sealed partial class AisouleJsonContext : JsonSerializerContext;
