using System.Text.RegularExpressions;
using Aisoule.Core.Results;
using Aisoule.Functions.Http;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>The error codes: one catalog (Core), one status table (the edge), and the README's table saying the same.</summary>
public sealed partial class ErrorCatalogTests
{
    [Fact]
    public void Every_code_in_the_catalog_has_one_status_in_the_edge_table_and_the_table_has_no_other()
    {
        Assert.Equal(ErrorCodes.All.Order(StringComparer.Ordinal), ErrorStatus.All.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(ErrorCodes.All.Count, ErrorCodes.All.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void The_readme_error_table_lists_every_code_of_the_catalog_with_its_status_and_no_other()
    {
        var documented = ReadmeErrorTable();

        var missing = ErrorCodes.All.Where(c => !documented.ContainsKey(c)).ToList();
        var unknown = documented.Keys.Where(c => !ErrorCodes.All.Contains(c)).ToList();
        var wrongStatus = documented
            .Where(d => ErrorCodes.All.Contains(d.Key) && !d.Value.SequenceEqual([ErrorStatus.Of(d.Key)]))
            .Select(d => $"{d.Key}: README {string.Join("/", d.Value)}, ErrorStatus {ErrorStatus.Of(d.Key)}")
            .ToList();

        Assert.True(missing.Count == 0, "Codes missing from the README's error table: " + string.Join(", ", missing));
        Assert.True(unknown.Count == 0, "Codes in the README's error table that the catalog lacks: " + string.Join(", ", unknown));
        Assert.True(wrongStatus.Count == 0, "Codes whose README status differs: " + string.Join("; ", wrongStatus));
    }

    [Fact]
    public void No_source_file_outside_the_catalog_writes_an_error_code_as_text()
    {
        var literals = ErrorCodes.All.Select(c => "\"" + c + "\"").ToList();
        var found = SourceFiles().Where(f => Path.GetFileName(f) != "ErrorCodes.cs")
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => literals.Any(c => l.Text.Contains(c, StringComparison.Ordinal)))
            .Select(l => $"{Path.GetRelativePath(RepositoryRoot.Path, l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.True(found.Count == 0, "Error codes written as text (use ErrorCodes):\n" + string.Join("\n", found));
    }

    [Fact]
    public void Every_code_in_the_catalog_is_answered_somewhere_so_the_readme_documents_no_dead_code()
    {
        var sources = string.Join('\n', SourceFiles().Where(f => Path.GetFileName(f) is not ("ErrorCodes.cs" or "ErrorStatus.cs")).Select(File.ReadAllText));
        var unused = typeof(ErrorCodes).GetFields().Where(f => f.IsLiteral)
            .Where(f => !Regex.IsMatch(sources, $@"\bErrorCodes\.{f.Name}\b"))
            .Select(f => $"{f.Name} ({f.GetRawConstantValue()})")
            .ToList();

        Assert.True(unused.Count == 0, "Codes nothing answers (remove them, their status and their README row): " + string.Join(", ", unused));
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>Each code of the README's <c>| status | code | when |</c> table with the statuses its rows give it.</summary>
    private static Dictionary<string, List<int>> ReadmeErrorTable()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, "README.md"));
        var header = Array.FindIndex(lines, l => l.Replace(" ", "", StringComparison.Ordinal) == "|status|code|when|");
        Assert.True(header >= 0, "README.md has no | status | code | when | table");

        var codes = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var row in lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = row.Split('|');
            var status = int.Parse(Status().Match(cells[1]).Value, System.Globalization.CultureInfo.InvariantCulture);
            foreach (Match code in Code().Matches(cells[2]))
            {
                var statuses = codes.TryGetValue(code.Groups[1].Value, out var s) ? s : codes[code.Groups[1].Value] = [];
                if (!statuses.Contains(status))
                {
                    statuses.Add(status);
                }
            }
        }

        Assert.NotEmpty(codes);
        return codes;
    }

    [GeneratedRegex(@"\d{3}")]
    private static partial Regex Status();

    [GeneratedRegex(@"`([a-z_]+)`")]
    private static partial Regex Code();
}
