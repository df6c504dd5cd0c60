using System.Net.Http.Json;
using System.Text;

namespace Aisoule.Tests.Infrastructure;

/// <summary>Calls the API with an X-API-Key, as an integration (CRM, Zapier) would.</summary>
internal sealed class KeyClient(HttpClient client, string key)
{
    public static async Task<KeyClient> ForNewWorkspaceAsync(TestHost host)
    {
        var owner = await Identity.SignUpAsync(host);
        return new KeyClient(host.Client, await owner.CreateKeyAsync());
    }

    public KeyClient On(TestHost other) => new(other.Client, key);

    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<HttpResponseMessage> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, JsonContent.Create(body));

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json) => SendAsync(HttpMethod.Post, path, new StringContent(json, Encoding.UTF8, "application/json"));

    public Task<HttpResponseMessage> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, JsonContent.Create(body));

    public Task<HttpResponseMessage> PutJsonAsync(string path, string json) => SendAsync(HttpMethod.Put, path, new StringContent(json, Encoding.UTF8, "application/json"));

    public Task<HttpResponseMessage> PatchAsync(string path, object body) => SendAsync(HttpMethod.Patch, path, JsonContent.Create(body));

    public Task<HttpResponseMessage> PostEmptyAsync(string path) => SendAsync(HttpMethod.Post, path);

    public Task<HttpResponseMessage> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("X-API-Key", key);
        return client.SendAsync(request);
    }
}
