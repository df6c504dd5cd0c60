using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// Azurite's table and queue services as two processes of their own, on free ports, so a test can stop the queue
/// service while tables stay up, and start it again on the same port. Tables are in memory; the queue service keeps
/// its data in a temporary folder, so its queues and messages outlive a restart as a real outage's would. Each
/// process runs under a shell that kills it when our standard input closes (it dies with the test process).
/// </summary>
internal sealed class SplitAzurite : IDisposable
{
    private readonly string _queueFolder = Directory.CreateTempSubdirectory("aisoule-queue-").FullName;
    private readonly int _tablePort = Azurite.FreePort();
    private readonly int _queuePort = Azurite.FreePort();
    private readonly int _blobPort = Azurite.FreePort();
    private Process? _table;
    private Process? _queue;

    private SplitAzurite()
    {
    }

    /// <summary>Blob is never used by the app; its endpoint points where nothing listens.</summary>
    public string ConnectionString => Azurite.ConnectionStringFor(_blobPort, _queuePort, _tablePort);

    public bool QueueRunning => _queue is { HasExited: false };

    public static SplitAzurite Start()
    {
        var azurite = new SplitAzurite();
        azurite._table = Run("table", azurite._tablePort, "--inMemoryPersistence");
        azurite.StartQueue();
        return azurite;
    }

    public void StartQueue()
    {
        if (QueueRunning)
        {
            return;
        }

        _queue = Run("queue", _queuePort, $"--location '{_queueFolder}'");
    }

    /// <summary>Stops the queue service and waits until its port refuses connections.</summary>
    public void StopQueue()
    {
        Stop(_queue);
        _queue = null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Listening(_queuePort) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        Stop(_queue);
        Stop(_table);
        try
        {
            Directory.Delete(_queueFolder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it is in the temporary folder.
        }
    }

    private static Process Run(string service, int port, string storage)
    {
        var script = Path.Combine(RepositoryRoot.Path, "node_modules", "azurite", "dist", "src", service, "main.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"Azurite is not installed ({script} missing): run script/test, or npm ci at the repository root.");
        }

        var command = $"node '{script}' --silent {storage} --skipApiVersionCheck --disableTelemetry --{service}Host 127.0.0.1 --{service}Port {port}";
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"{command} & pid=$!; read _; kill $pid; wait $pid");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start azurite-{service}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Listening(port))
        {
            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                throw new InvalidOperationException($"azurite-{service} did not start on port {port}.");
            }

            Thread.Sleep(100);
        }

        return process;
    }

    private static bool Listening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void Stop(Process? process)
    {
        if (process is null)
        {
            return;
        }

        try
        {
            process.StandardInput.Close();
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
    }
}
