using System.Net.Http.Json;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// JSON bodies with every character written as itself (UTF-8), emoji included, the way most clients send them —
/// unlike <see cref="JsonContent"/>, whose escapes would make a body look larger than it is.
/// </summary>
internal static partial class LiteralJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Serialize(object value) =>
        SurrogatePair().Replace(JsonSerializer.Serialize(value, Options), m => new string([(char)Convert.ToInt32(m.Groups[1].Value, 16), (char)Convert.ToInt32(m.Groups[2].Value, 16)]));

    public static StringContent Content(object value) => new(Serialize(value), Encoding.UTF8, "application/json");

    [GeneratedRegex(@"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")]
    private static partial Regex SurrogatePair();
}
