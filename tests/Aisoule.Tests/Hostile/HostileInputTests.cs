using Aisoule.Functions.Catalog;
using Aisoule.Functions.Hosting;
using Xunit;

namespace Aisoule.Tests.Hostile;

/// <summary>
/// Every endpoint of the catalog, every field of its request record, generated hostile values: each answer is an
/// envelope with <c>X-Request-Id</c>, never a 5xx, and a refused request leaves the workspace as it was. Cases that
/// cannot change the workspace run in parallel between two snapshots; cases a correct API may accept on an endpoint
/// that writes run one by one, each refusal checked against the snapshot before it.
/// </summary>
[Collection(HostileWorkspace.Collection)]
public sealed class HostileInputTests(HostileWorkspace workspace, Xunit.Abstractions.ITestOutputHelper output)
{
    internal static readonly FunctionCatalog AppCatalog = FunctionCatalog.Create(typeof(AisouleServiceCollectionExtensions).Assembly);

    [Fact]
    public async Task Every_endpoint_answers_hostile_input_with_an_envelope_never_a_5xx_and_refusals_change_nothing()
    {
        var functions = AppCatalog.HttpFunctions.ToList();
        IEnumerable<HostileCase> Generate() => functions.SelectMany(f => HostileCases.For(f, workspace)).Where(c => !KnownFailures.Excludes(c));
        var count = Generate().Count();
        var covered = Generate().Select(c => c.Function).ToHashSet(StringComparer.Ordinal);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var problems = await RunAsync(workspace, Generate, output.WriteLine);
        output.WriteLine($"{count} cases in {clock.Elapsed}");

        Assert.Equal(functions.Select(f => f.Name).Order(), covered.Order());
        Assert.True(problems.Count == 0, $"{problems.Count} of {count} hostile requests were answered wrongly:\n" + string.Join('\n', problems.Order(StringComparer.Ordinal)));
    }

    [Fact]
    public void Every_endpoint_that_takes_a_body_has_a_spec_naming_its_request_record()
    {
        var missing = AppCatalog.HttpFunctions
            .Where(f => f.Http!.Methods.Any(m => m is "POST" or "PUT" or "PATCH"))
            .Where(f => !EndpointSpec.All.ContainsKey(f.Name))
            .Select(f => $"{f.Name} ({string.Join(',', f.Http!.Methods)} {f.Http.Route})")
            .ToList();

        Assert.True(missing.Count == 0, "Add these to EndpointSpec.All (their request record and a valid body) so each field gets hostile values: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_spec_names_an_endpoint_that_exists()
    {
        var names = AppCatalog.HttpFunctions.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);

        Assert.DoesNotContain(EndpointSpec.All.Keys, k => !names.Contains(k));
    }

    /// <summary>
    /// Runs an endpoint's cases. Those that cannot change the workspace run in parallel between two snapshots. Those
    /// a correct API may accept on an endpoint that writes run in parallel once; then the ones refused are generated
    /// afresh (new phone numbers and emails, same hostile value) and run again between two snapshots, all refused.
    /// </summary>
    internal static async Task<List<string>> RunAsync(HostileWorkspace workspace, Func<IEnumerable<HostileCase>> generate, Action<string>? log = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var problems = new List<string>();
        var cases = generate().ToList();
        var may = cases.Where(MayChangeWorkspace).ToList();
        var cannot = cases.Except(may).ToList();

        var before = await workspace.SnapshotAsync();
        await SendAllAsync(workspace, cannot, problems);
        var after = await workspace.SnapshotAsync();
        if (after != before)
        {
            problems.Add($"The workspace changed during {cannot.Count} requests none of which may change it: {Difference(before, after)}");
        }

        log?.Invoke($"{cannot.Count} cases that cannot change the workspace: {clock.Elapsed}");
        if (may.Count == 0)
        {
            return problems;
        }

        // Refusals that depend only on the request (not a 409, 429 or 503 of the moment) must be refused again.
        var refused = (await SendAllAsync(workspace, may, problems))
            .Where(a => a.Refused && a.Status is not (409 or 429 or >= 500))
            .Select(a => a.Case.ToString()).ToHashSet(StringComparer.Ordinal);
        var again = generate().Where(c => refused.Contains(c.ToString()) && MayChangeWorkspace(c)).Select(c => c with { Expect = Expect.Refused }).ToList();
        log?.Invoke($"{may.Count} cases that may: {clock.Elapsed}");
        before = await workspace.SnapshotAsync();
        await SendAllAsync(workspace, again, problems);
        log?.Invoke($"{again.Count} refused ones again: {clock.Elapsed}");
        after = await workspace.SnapshotAsync();
        if (after != before)
        {
            problems.Add($"The workspace changed during {again.Count} requests that were all refused: {Difference(before, after)}");
        }

        return problems;
    }

    private static async Task<List<Answer>> SendAllAsync(HostileWorkspace workspace, List<HostileCase> cases, List<string> problems)
    {
        var answers = new List<Answer>(cases.Count);
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (c, _) =>
        {
            var answer = await workspace.SendAsync(c);
            lock (answers)
            {
                answers.Add(answer);
                if (answer.Problem is { } problem)
                {
                    problems.Add($"{c}: {problem}");
                }
            }
        });
        return answers;
    }

    private static string Difference(string before, string after)
    {
        var at = before.Zip(after).TakeWhile(p => p.First == p.Second).Count();
        var from = Math.Max(0, at - 80);
        return $"\n      before: …{before[from..Math.Min(before.Length, at + 120)]}\n      after:  …{after[from..Math.Min(after.Length, at + 120)]}";
    }

    /// <summary>Cases a correct API may accept on an endpoint whose writes the snapshot shows.</summary>
    private static bool MayChangeWorkspace(HostileCase c) =>
        c.Expect == Expect.Any && c.Method != "GET" && (EndpointSpec.All.GetValueOrDefault(c.Function)?.Writes ?? true);
}
