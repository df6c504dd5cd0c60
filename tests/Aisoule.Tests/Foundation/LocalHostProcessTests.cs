using System.Diagnostics;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Foundation;

public sealed class LocalHostProcessTests
{
    [Fact]
    public async Task Built_local_host_serves_the_api_on_the_given_port_and_stops_on_ctrl_c()
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
        start.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.Environment["AzureWebJobsStorage"] = Azurite.ConnectionString;
        start.Environment["Storage__Prefix"] = TestHost.NewPrefix();
        using var process = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/") };
            var deadline = DateTime.UtcNow.AddSeconds(30);
            HttpResponseMessage? response = null;
            while (response is null)
            {
                try
                {
                    response = await client.GetAsync("health");
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(100);
                }
            }

            var data = await Envelope.SuccessAsync(response);
            Assert.Equal("ok", data.GetProperty("storage").GetString());
            Assert.Contains(output, line => line.Contains($"Aisoule API listening on http://127.0.0.1:{port}/api", StringComparison.Ordinal));

            using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(stopped.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
