using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>
/// Every curl example in the README runs, exactly as written and in the order written, against the local host run as
/// script/server runs it. Each must exit 0; where the README shows what it prints, the answer must match; and no other
/// answer may be an error envelope. The only help the examples get: the port they name (7071) is mapped to the test's
/// (a <c>curl</c> wrapper rewrites the URL), and <c>HOOK_URL</c> names a loopback receiver.
/// </summary>
[Collection(Alone.Name)]
public sealed class ReadmeExamplesTests
{
    [Fact]
    public void The_readme_examples_are_read_with_their_expected_answers()
    {
        var statements = ReadmeExamples.Read(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "README.md")));

        Assert.True(statements.Count > 30, $"only {statements.Count} statements found");
        var health = statements.First(s => s.Code == "curl -s http://127.0.0.1:7071/api/health");
        Assert.Equal("""{"data":{"status":"ok","storage":"ok"},"status":"success"}""", health.Expected);
        var allow = statements.First(s => s.Code.Contains("-X DELETE http://127.0.0.1:7071/api/health", StringComparison.Ordinal));
        Assert.Equal("HTTP/1.1 405 Method Not Allowed\nAllow: GET", allow.Expected);
        Assert.Matches(statements.First(s => s.Expected?.StartsWith("{\"data\":{\"id\":\"wh_", StringComparison.Ordinal) == true).Pattern!,
            """{"data":{"id":"wh_1","name":"CRM","url":"http://x","events":["message.incoming","contact.created"],"enabled":true,"health":"healthy","secret":"whsec_a","secret_rotation_ends_at":null,"created_at":"2026"},"status":"success"}""");
    }

    [Fact]
    public async Task Every_curl_example_in_the_readme_runs_as_written_and_answers_as_shown()
    {
        var statements = ReadmeExamples.Read(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "README.md")));
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var server = await ServerProcess.StartAsync(TestHost.NewPrefix(), development: true, new Dictionary<string, string?>
        {
            ["AISOULE_OWNER_EMAIL"] = "you@company.com",
            ["AISOULE_OWNER_PASSWORD"] = "a long local password",
            ["Webhooks:AllowPrivateTargets"] = "true",
        });

        var work = Directory.CreateTempSubdirectory("readme").FullName;
        try
        {
            var bin = Directory.CreateDirectory(Path.Combine(work, "bin")).FullName;
            var realCurl = new[] { "/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl" }.First(File.Exists);
            await File.WriteAllTextAsync(Path.Combine(bin, "curl"), $$"""
                #!/usr/bin/env bash
                args=()
                for a in "$@"; do args+=("${a//127.0.0.1:7071/127.0.0.1:{{server.Port}}}"); done
                exec {{realCurl}} --max-time 30 "${args[@]}"
                """.Replace("\r", "", StringComparison.Ordinal));

            var script = new StringBuilder("cd \"$(dirname \"$0\")\" && chmod +x bin/curl\n");
            for (var i = 0; i < statements.Count; i++)
            {
                script.Append("{ ").Append(statements[i].Code).Append("\n} > out/").Append(i).Append(" 2> out/").Append(i).Append(".err; echo $? > out/").Append(i).Append(".rc; sleep 0.2\n");
            }

            Directory.CreateDirectory(Path.Combine(work, "out"));
            await File.WriteAllTextAsync(Path.Combine(work, "readme.sh"), script.ToString());

            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = work };
            start.ArgumentList.Add(Path.Combine(work, "readme.sh"));
            start.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
            start.Environment["HOOK_URL"] = receiver.Url("hooks/aisoule");
            using var bash = Process.Start(start)!;
            var stderr = bash.StandardError.ReadToEndAsync();
            _ = await bash.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await bash.WaitForExitAsync(timeout.Token);

            var failures = new List<string>();
            for (var i = 0; i < statements.Count; i++)
            {
                var statement = statements[i];
                var rcFile = Path.Combine(work, "out", i + ".rc");
                if (!File.Exists(rcFile))
                {
                    failures.Add($"README line {statement.Line}: did not run\n{statement.Code}");
                    continue;
                }

                var output = string.Join('\n', (await File.ReadAllTextAsync(Path.Combine(work, "out", i.ToString(CultureInfo.InvariantCulture)))).Split('\n').Select(l => l.TrimEnd('\r'))).Trim();
                var rc = int.Parse((await File.ReadAllTextAsync(rcFile)).Trim(), CultureInfo.InvariantCulture);
                var error = (await File.ReadAllTextAsync(Path.Combine(work, "out", i + ".err"))).Trim();
                if (rc != 0)
                {
                    failures.Add($"README line {statement.Line}: exit {rc}\n{statement.Code}\n{error}\n{output}");
                }
                else if (statement.Pattern is { } pattern && !pattern.IsMatch(output))
                {
                    failures.Add($"README line {statement.Line}: the README shows\n  {statement.Expected}\nbut it printed\n  {output}");
                }
                else if (statement.Expected is null && ErrorEnvelope(output) is { } envelope)
                {
                    failures.Add($"README line {statement.Line}: answered an error the README does not show\n{statement.Code}\n  {envelope}");
                }
            }

            Assert.True(failures.Count == 0, $"{failures.Count} of {statements.Count} README statements failed:\n\n{string.Join("\n\n", failures)}\n\nbash: {await stderr}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string? ErrorEnvelope(string output)
    {
        foreach (var line in output.Split('\n'))
        {
            try
            {
                using var json = JsonDocument.Parse(line);
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("status", out var status) && status.ValueEquals("error"))
                {
                    return line;
                }
            }
            catch (JsonException)
            {
                // Not an envelope.
            }
        }

        return null;
    }
}
