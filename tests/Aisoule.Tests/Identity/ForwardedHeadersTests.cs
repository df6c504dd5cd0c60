using System.Net;
using System.Net.Http.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed class ForwardedHeadersTests
{
    [Fact]
    public async Task A_direct_callers_x_forwarded_for_does_not_change_which_address_is_throttled()
    {
        await using var host = await TestHost.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await Envelope.ErrorAsync(await LoginAsync(host, forwardedFor: $"10.30.0.{i}"), HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        await Envelope.ErrorAsync(await LoginAsync(host, forwardedFor: "10.30.0.99"), HttpStatusCode.TooManyRequests, "too_many_attempts");
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_x_forwarded_for_names_the_throttled_address()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["LocalHost:TrustedProxies"] = "192.0.2.7, 127.0.0.1" });
        for (var i = 0; i < 5; i++)
        {
            await Envelope.ErrorAsync(await LoginAsync(host, forwardedFor: "10.31.0.1"), HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        await Envelope.ErrorAsync(await LoginAsync(host, forwardedFor: "10.31.0.1"), HttpStatusCode.TooManyRequests, "too_many_attempts");
        await Envelope.ErrorAsync(await LoginAsync(host, forwardedFor: "10.31.0.2"), HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task A_direct_callers_x_forwarded_proto_does_not_make_the_session_cookie_secure()
    {
        await using var host = await TestHost.StartAsync();
        var account = await Infrastructure.Identity.SignUpAsync(host);
        using var request = new HttpRequestMessage(HttpMethod.Post, "auth/login") { Content = JsonContent.Create(new { email = account.Email, password = account.Password }) };
        request.Headers.Add("X-Forwarded-Proto", "https");

        var response = await host.Client.SendAsync(request);

        await Envelope.SuccessAsync(response);
        Assert.DoesNotContain("secure", response.Headers.GetValues("Set-Cookie").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_trusted_proxy_setting_that_is_not_an_ip_address_fails_the_start()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartAsync(new Dictionary<string, string?> { ["LocalHost:TrustedProxies"] = "127.0.0.1, proxy.internal" }));

        Assert.Contains("LocalHost:TrustedProxies", failure.Message, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> LoginAsync(TestHost host, string forwardedFor)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "auth/login") { Content = JsonContent.Create(new { email = Infrastructure.Identity.NewEmail(), password = "wrong password" }) };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return host.Client.SendAsync(request);
    }
}
