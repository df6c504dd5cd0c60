using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// One real Azurite for the whole test run, on free ports, in memory: its blob, queue and table services each in a
/// process of its own (Azurite's <c>azurite-blob</c>, <c>azurite-queue</c> and <c>azurite-table</c>), as Azure's are
/// separate services; in one Node.js process they would share one core. They are started through a shell that kills
/// them when our standard input closes, so they die with the test process even if that process is killed.
/// Set AISOULE_TEST_STORAGE to a connection string to use an emulator you started yourself instead.
/// </summary>
internal static class Azurite
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly Lazy<string> Started = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);
    private static Process? _process;

    public static string ConnectionString => Started.Value;

    /// <summary>A connection string to a port nothing listens on: storage that is down.</summary>
    public static string Unreachable { get; } = ConnectionStringFor(FreePort(), FreePort(), FreePort());

    public static string ConnectionStringFor(int blob, int queue, int table) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Start()
    {
        if (Environment.GetEnvironmentVariable("AISOULE_TEST_STORAGE") is { Length: > 0 } given)
        {
            return given;
        }

        var services = Path.Combine(RepositoryRoot.Path, "node_modules", "azurite", "dist", "src");
        if (!File.Exists(Path.Combine(services, "azurite.js")))
        {
            throw new InvalidOperationException($"Azurite is not installed ({services} missing): run script/test, or npm ci at the repository root.");
        }

        var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
        string Service(string name, int port) =>
            $"node '{Path.Combine(services, name, "main.js")}' --silent --inMemoryPersistence --skipApiVersionCheck --disableTelemetry --{name}Host 127.0.0.1 --{name}Port {port} & pids=\"$pids $!\"; ";
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"pids=; {Service("blob", blob)}{Service("queue", queue)}{Service("table", table)}read _; kill $pids");
        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start Azurite.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();

        foreach (var port in new[] { blob, queue, table })
        {
            WaitForPort(port);
        }

        return ConnectionStringFor(blob, queue, table);
    }

    private static void WaitForPort(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && _process is { HasExited: false })
            {
                Thread.Sleep(100);
            }
        }
    }

    private static void Stop()
    {
        try
        {
            _process?.StandardInput.Close();
            _process?.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
