using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Foundation;

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

    /// <summary>The built local host run as its own process, as script/server runs it.</summary>
    private sealed class ServerProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private ServerProcess(Process process, int port)
        {
            _process = process;
            Port = port;
            Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/") };
        }

        public int Port { get; }

        public HttpClient Client { get; }

        public ConcurrentQueue<string> Output { get; } = new();

        public static async Task<ServerProcess> StartAsync(string prefix, bool development)
        {
            var port = Azurite.FreePort();
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetTempPath(),
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Aisoule.LocalHost.dll"));
            start.ArgumentList.Add("--port");
            start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
            start.Environment["AzureWebJobsStorage"] = Azurite.ConnectionString;
            start.Environment["Storage__Prefix"] = prefix;
            start.Environment["DOTNET_ENVIRONMENT"] = development ? "Development" : "Production";
            var server = new ServerProcess(Process.Start(start)!, port);
            server._process.OutputDataReceived += (_, e) => server.Output.Enqueue(e.Data ?? "");
            server._process.ErrorDataReceived += (_, e) => server.Output.Enqueue(e.Data ?? "");
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            await server.WaitForLineAsync("Press Ctrl+C to stop.");
            return server;
        }

        public async Task<string> WaitForLineAsync(string text)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (Output.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line)
                {
                    return line;
                }

                Assert.True(DateTime.UtcNow < deadline && !_process.HasExited, $"'{text}' not printed:\n{string.Join('\n', Output)}");
                await Task.Delay(100);
            }
        }

        public async Task<int> InterruptAsync()
        {
            using (var interrupt = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(stopped.Token);
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!_process.HasExited)
            {
                await InterruptAsync();
            }

            _process.Dispose();
        }
    }
}
