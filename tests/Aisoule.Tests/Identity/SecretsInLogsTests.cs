using System.Net;
using System.Net.Http.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed class SecretsInLogsTests
{
    [Fact]
    public async Task Passwords_keys_session_and_csrf_tokens_never_appear_in_logs()
    {
        await using var host = await TestHost.StartAsync();
        var account = await Infrastructure.Identity.SignUpAsync(host);
        var key = await account.CreateKeyAsync();
        await Envelope.SuccessAsync(await host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key)));
        await host.Client.SendAsync(Infrastructure.Identity.WithKey(HttpMethod.Get, "auth/me", key[..^1] + "x"));
        await host.Client.PostAsJsonAsync("auth/login", new { email = account.Email, password = "a wrong password" });
        var relogin = await Infrastructure.Identity.LoginAsync(host, account.Email, account.Password);
        await relogin.SendAsync(HttpMethod.Post, "auth/logout", csrf: false);
        await Envelope.SuccessAsync(await relogin.SendAsync(HttpMethod.Post, "auth/logout"));
        await host.Client.GetAsync("probe/crash");

        var logs = host.Logs.AllText();

        Assert.NotEmpty(host.Logs.Entries);
        foreach (var secret in new[] { account.Password, "a wrong password", key, key[..^1], account.CsrfToken, relogin.CsrfToken,
                     account.Cookie.Split('=')[1], relogin.Cookie.Split('=')[1] })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await relogin.GetAsync("auth/me")).StatusCode);
    }
}
