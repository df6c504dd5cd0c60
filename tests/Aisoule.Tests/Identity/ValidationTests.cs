using System.Net;
using System.Text;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed class ValidationTests : IAsyncLifetime
{
    private static readonly string LongEmail = new string('a', 10 * 1024) + "@example.com";
    private TestHost _host = null!;
    private Account _owner = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync();
        _owner = await Infrastructure.Identity.SignUpAsync(_host);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string, string, string> BadBodies => new()
    {
        { "auth/signup", "{}", "email" },
        { "auth/signup", """{"email":"a@example.com","password":"short","name":"A","workspace_name":"W"}""", "password" },
        { "auth/signup", $$"""{"email":"{{LongEmail}}","password":"long enough password","name":"A","workspace_name":"W"}""", "email" },
        { "auth/signup", """{"email":"not-an-email","password":"long enough password","name":"A","workspace_name":"W"}""", "email" },
        { "auth/signup", """{"email":"Asha <a@example.com>","password":"long enough password","name":"A","workspace_name":"W"}""", "email" },
        { "auth/signup", """{"email":"a@example.com","password":"long enough password","name":"","workspace_name":"W"}""", "name" },
        { "auth/signup", """{"email":42,"password":"long enough password","name":"A","workspace_name":"W"}""", "email" },
        { "auth/signup", """{"email":"a@example.com","password":["x"],"name":"A","workspace_name":"W"}""", "password" },
        { "auth/signup", """{"email":"a@example.com","password":"long enough password","name":"A","workspace_name":"W","role":"owner"}""", "role" },
        { "auth/login", "{}", "email" },
        { "auth/login", """{"email":"a@example.com"}""", "password" },
        { "auth/login", $$"""{"email":"{{LongEmail}}","password":"x"}""", "email" },
        { "auth/login", """{"email":null,"password":"x"}""", "email" },
        { "auth/login", """{"email":"ａ＠ｅｘａｍｐｌｅ．ｃｏｍ\u0000","password":"x"}""", "email" },
        { "keys", "{}", "name" },
        { "keys", """{"name":""}""", "name" },
        { "keys", """{"name":"x","expires_at":"next tuesday"}""", "expires_at" },
        { "keys", """{"name":"x","scopes":"contacts:read"}""", "scopes" },
        { "keys", $$"""{"name":"{{new string('n', 101)}}"}""", "name" },
        { "keys", """{"name":"x","scopes":[null]}""", "scopes" },
        { "keys", """{"name":"x","expires_at":"01/02/2030"}""", "expires_at" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_input_answers_400_naming_the_field_and_changes_nothing(string path, string json, string field)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("Cookie", _owner.Cookie);
        request.Headers.Add("X-CSRF-Token", _owner.CsrfToken);

        var response = await _host.Client.SendAsync(request);

        var body = await Envelope.ErrorAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
        var keys = await Envelope.SuccessAsync(await _owner.GetAsync("keys"));
        Assert.Equal(0, keys.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("auth/signup")]
    [InlineData("auth/login")]
    [InlineData("keys")]
    public async Task Malformed_json_answers_400_on_every_identity_endpoint(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{\"email\": ", Encoding.UTF8, "application/json") };
        request.Headers.Add("Cookie", _owner.Cookie);
        request.Headers.Add("X-CSRF-Token", _owner.CsrfToken);

        await Envelope.ErrorAsync(await _host.Client.SendAsync(request), HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task Unicode_names_are_kept_as_sent()
    {
        var response = await _host.Client.PostAsync("auth/signup", new StringContent(
            $$"""{"email":"{{Infrastructure.Identity.NewEmail()}}","password":"पासवर्ड बहुत लंबा है","name":"आशा राव 👩‍💼","workspace_name":"Café Zürich"}""",
            Encoding.UTF8,
            "application/json"));

        var data = await Envelope.SuccessAsync(response, HttpStatusCode.Created);
        Assert.Equal("आशा राव 👩‍💼", data.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal("Café Zürich", data.GetProperty("workspace").GetProperty("name").GetString());
    }
}
