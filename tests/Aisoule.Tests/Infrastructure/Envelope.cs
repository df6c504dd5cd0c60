using System.Net;
using System.Text.Json;
using Xunit;

namespace Aisoule.Tests.Infrastructure;

/// <summary>Reads and checks the response envelope, so every test checks the body and not only the status.</summary>
internal static class Envelope
{
    public static async Task<JsonElement> SuccessAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var body = await ReadAsync(response, expected);
        Assert.Equal("success", body.GetProperty("status").GetString());
        return body.GetProperty("data");
    }

    public static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode expected, string code)
    {
        var body = await ReadAsync(response, expected);
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));
        return body;
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"Expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.Contains("X-Request-Id"), "X-Request-Id missing");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
