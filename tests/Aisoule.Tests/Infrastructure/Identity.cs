using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Aisoule.Tests.Infrastructure;

/// <summary>A signed-up user and its session cookie, sending requests as a browser app would.</summary>
internal sealed record Account(HttpClient Client, string Email, string Password, string Cookie, string CsrfToken, string UserId, string WorkspaceId)
{
    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(HttpMethod.Get, path, csrf: false);

    /// <summary>A cookie-authenticated request; writes carry the CSRF token unless told not to.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, bool csrf = true)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("Cookie", Cookie);
        if (csrf)
        {
            request.Headers.Add("X-CSRF-Token", CsrfToken);
        }

        return Client.SendAsync(request);
    }

    public async Task<JsonElement> CreateKeyDataAsync(string name = "CRM", string[]? scopes = null, DateTimeOffset? expiresAt = null) =>
        await Envelope.SuccessAsync(
            await SendAsync(HttpMethod.Post, "keys", new Dictionary<string, object?> { ["name"] = name, ["scopes"] = scopes, ["expires_at"] = expiresAt }),
            HttpStatusCode.Created);

    public async Task<string> CreateKeyAsync(string name = "CRM", string[]? scopes = null, DateTimeOffset? expiresAt = null) =>
        (await CreateKeyDataAsync(name, scopes, expiresAt)).GetProperty("key").GetString()!;
}

internal static class Identity
{
    public const string Password = "correct horse battery staple";

    public static string NewEmail() => $"user{Guid.NewGuid():N}@example.com";

    public static async Task<Account> SignUpAsync(TestHost host, string? email = null)
    {
        email ??= NewEmail();
        var response = await host.Client.PostAsJsonAsync("auth/signup", new { email, password = Password, name = "Asha", workspace_name = "Acme" });
        var data = await Envelope.SuccessAsync(response, HttpStatusCode.Created);
        return FromSignedIn(host.Client, email, Password, response, data);
    }

    public static async Task<Account> LoginAsync(TestHost host, string email, string password)
    {
        var response = await host.Client.PostAsJsonAsync("auth/login", new { email, password });
        var data = await Envelope.SuccessAsync(response);
        return FromSignedIn(host.Client, email, password, response, data);
    }

    public static HttpRequestMessage WithKey(HttpMethod method, string path, string key, object? body = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-API-Key", key);
        return request;
    }

    public static HttpRequestMessage WithCookie(HttpMethod method, string path, string cookie)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", cookie);
        return request;
    }

    private static Account FromSignedIn(HttpClient client, string email, string password, HttpResponseMessage response, JsonElement data) => new(
        client,
        email,
        password,
        response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("aisoule_session=", StringComparison.Ordinal)).Split(';')[0],
        data.GetProperty("csrf_token").GetString()!,
        data.GetProperty("user").GetProperty("id").GetString()!,
        data.GetProperty("workspace").GetProperty("id").GetString()!);
}
