using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisoule.Functions.OpenApi;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.OpenApi;

/// <summary>
/// <c>GET /api/docs</c> in a real browser (Debian's Chromium, driven by Playwright): the page renders every operation
/// of the document, with a link to each, loading nothing from outside the app and meeting no script error.
/// </summary>
[Collection(Alone.Name)]
public sealed class ApiReferencePageTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_reference_page_lists_every_operation_in_a_real_browser_loading_only_the_apps_own_files()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium (apt-get install chromium); script/test does when it can.");
        await using var host = await TestHost.StartAsync();
        var origin = host.Client.BaseAddress!.GetLeftPart(UriPartial.Authority);

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepositoryRoot.Path };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot.Path, "tests", "Aisoule.Tests", "OpenApi", "browser", "reference.mjs"));
        start.ArgumentList.Add(origin + "/api/docs");
        start.ArgumentList.Add(Chromium);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"the browser run failed ({node.ExitCode}):\n{await output}\n{await error}");

        var page = JsonNode.Parse(await output)!;
        Assert.Equal(200, (int)page["status"]!);
        Assert.Empty(page["problems"]!.AsArray());

        var document = JsonNode.Parse(OpenApiDocument.Json)!;
        var documented = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(m => $"{(string)m.Value!["operationId"]!} {m.Key.ToUpperInvariant()} /api{p.Key}"))
            .Order().ToList();
        var shown = page["operations"]!.AsArray().Select(o => $"{(string)o!["id"]!} {((string)o["signature"]!).Replace("/api", " /api", StringComparison.Ordinal)}").Order().ToList();
        Assert.Equal(documented, shown);
        Assert.All(page["operations"]!.AsArray(), o => Assert.True((bool)o!["visible"]!, $"{o["id"]} is not visible"));
        Assert.Equal(documented.Select(d => "#" + d.Split(' ')[0]).Order(), page["links"]!.AsArray().Select(l => (string)l!).Order());

        // No CDN, no other site: every request the page made went to the app.
        Assert.All(page["requests"]!.AsArray(), r => Assert.StartsWith(origin + "/api/", (string)r!, StringComparison.Ordinal));
    }
}
