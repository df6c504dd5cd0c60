using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Foundation;

[Collection(Alone.Name)]
public sealed partial class LocalHostProcessTests
{
    [Fact]
    public async Task Built_local_host_serves_the_api_on_the_given_port_and_stops_on_ctrl_c()
    {
        await using var server = await ServerProcess.StartAsync(TestHost.NewPrefix(), development: false);

        var data = await Envelope.SuccessAsync(await server.Client.GetAsync("health"));
        Assert.Equal("ok", data.GetProperty("storage").GetString());
        Assert.Contains(server.Output, line => line.Contains($"Aisoule API listening on http://127.0.0.1:{server.Port}/api", StringComparison.Ordinal));

        Assert.Equal(0, await server.InterruptAsync());
    }

    [Fact]
    public async Task Development_server_creates_an_owner_once_and_prints_its_password_only_then()
    {
        var prefix = TestHost.NewPrefix();
        string password;
        await using (var first = await ServerProcess.StartAsync(prefix, development: true))
        {
            var line = await first.WaitForLineAsync("Development owner created");
            password = Password().Match(line).Groups[1].Value;
            var login = await first.Client.PostAsJsonAsync("auth/login", new { email = "dev@aisoule.local", password });
            await Envelope.SuccessAsync(login);
        }

        await using var second = await ServerProcess.StartAsync(prefix, development: true);
        await second.WaitForLineAsync("Log in as dev@aisoule.local");
        Assert.DoesNotContain(second.Output, l => l.Contains(password, StringComparison.Ordinal));
        await Envelope.SuccessAsync(await second.Client.PostAsJsonAsync("auth/login", new { email = "dev@aisoule.local", password }));
    }

    [GeneratedRegex("password: (\\S+)")]
    private static partial Regex Password();
}
