using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// The built local host run as its own process, as script/server runs it, over the suite's Azurite with the given
/// prefix and settings (given as configuration keys, <c>WhatsApp:Provider</c>; passed as environment variables).
/// It can be stopped as Ctrl+C stops it, or killed outright (SIGKILL, no shutdown code runs), as a crashed instance.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
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

    public bool HasExited => _process.HasExited;

    public static async Task<ServerProcess> StartAsync(string prefix, bool development, IDictionary<string, string?>? settings = null)
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
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

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

    /// <summary>Ctrl+C: the host stops gracefully; its exit code.</summary>
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

    /// <summary>SIGKILL to the process and its children: it dies wherever it is, nothing of it runs on.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await _process.WaitForExitAsync(stopped.Token);
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
