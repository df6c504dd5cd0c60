using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Aisoule.Tests.Infrastructure.Bicep;

/// <summary>
/// The Bicep CLI that restore downloads (the PackageDownload in Aisoule.Tests.csproj), and infra/main.bicep compiled
/// with it once per test run into a temporary folder.
/// </summary>
internal static partial class BicepCli
{
    private const string Package = "Azure.Bicep.CommandLine.linux-x64";

    private static readonly Lazy<JsonObject> Compiled = new(() => Build(Path.Combine(RepositoryRoot.Path, "infra", "main.bicep")));

    /// <summary>infra/main.bicep as ARM JSON.</summary>
    public static JsonObject MainTemplate => Compiled.Value;

    /// <summary>The CLI in the NuGet cache, at the version the tests project pins.</summary>
    public static string Executable
    {
        get
        {
            var csproj = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "tests", "Aisoule.Tests", "Aisoule.Tests.csproj"));
            var version = PinnedVersion().Match(csproj);
            if (!version.Success)
            {
                throw new InvalidOperationException($"Aisoule.Tests.csproj has no <PackageDownload Include=\"{Package}\" Version=\"[x.y.z]\" />");
            }

            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
                ? configured
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            var path = Path.Combine(cache, Package.ToLowerInvariant(), version.Groups[1].Value, "tools", "bicep");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"The Bicep CLI is not at {path}: run 'dotnet restore Aisoule.sln' (it downloads {Package} {version.Groups[1].Value}).", path);
            }

            return path;
        }
    }

    private static JsonObject Build(string bicepFile)
    {
        var folder = Directory.CreateTempSubdirectory("aisoule-bicep-");
        try
        {
            var output = Path.Combine(folder.FullName, "main.json");
            var start = new ProcessStartInfo(Executable, ["build", bicepFile, "--outfile", output])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            var diagnostics = (stdout.Result + stderr).Trim();
            if (process.ExitCode != 0 || diagnostics.Length > 0)
            {
                throw new InvalidOperationException($"bicep build {bicepFile} exited {process.ExitCode}:\n{diagnostics}");
            }

            return JsonNode.Parse(File.ReadAllText(output))!.AsObject();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [GeneratedRegex("""<PackageDownload\s+Include="Azure\.Bicep\.CommandLine\.linux-x64"\s+Version="\[([0-9.]+)\]"\s*/>""")]
    private static partial Regex PinnedVersion();
}
